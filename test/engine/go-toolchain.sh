#!/bin/bash
# go-toolchain.sh VERSION: print the GOROOT of Go VERSION (say 1.26.8) for this machine, fetched once
# into $CACHE/go-toolchain the way `go` itself switches toolchains (cmd/go/internal/toolchain):
#   - the module golang.org/toolchain@v0.0.1-go<VERSION>.linux-<arch> is downloaded as a zip from the
#     Go module proxy ($GOPROXY: the environment, else `go env`/the go env file, else Go's default);
#   - its h1: hash (dirhash.Hash1 over the zip's files) must equal the one the Go checksum database
#     ($GOSUMDB) holds for it: that answer's tree head must be signed by the database's key, and the
#     record proven to be in that tree (Merkle inclusion proof from the database's tiles);
#   - like `go`, it insists on the checksum database for toolchains (GOSUMDB=off and GONOSUMDB are
#     ignored) unless GOPROXY is a single file:// URL;
#   - then it is unpacked, its _go.mod files copied to go.mod, and its commands made executable.
# A cached zip that fails is deleted and downloaded again; a freshly downloaded one that fails is
# refused. Progress goes to stderr, only the GOROOT to stdout. Used by ensure_go in lib.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ver="${1:?usage: go-toolchain.sh GO_VERSION}"; ver="${ver#go}"
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "go-toolchain: no Go toolchain for $(uname -m) here (amd64 and arm64 only)" >&2; exit 1 ;;
esac
MODULE=golang.org/toolchain
MODVER="v0.0.1-go$ver.linux-$arch"
DIR="$CACHE/go-toolchain"
ROOT="$DIR/go$ver.linux-$arch"
ZIP="$ROOT.zip"
MARK="$ROOT.verified"
say() { echo "go-toolchain: $*" >&2; }

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9   # another build fetching the same toolchain: wait for it
if [ -x "$ROOT/bin/go" ] && [ -s "$MARK" ]; then echo "$ROOT"; exit 0; fi

for tool in curl unzip; do command -v "$tool" >/dev/null || apt_install "$tool"; done
command -v node >/dev/null || { say "node is needed to check the toolchain (the repo's npm toolchain)"; exit 1; }

proxies=$(go_env GOPROXY https://proxy.golang.org,direct)
gosumdb=$(go_env GOSUMDB sum.golang.org)
# Go's useSumDB for golang.org/toolchain: the checksum database is required, unless GOPROXY is a
# single file:// URL, where GOSUMDB=off and GONOSUMDB apply as for any module.
if [[ "$proxies" == file://* && "$proxies" != *[,\|]* ]]; then
  nosumdb=$(go_env GONOSUMDB "$(go_env GOPRIVATE '')")
  if [ "$gosumdb" = off ]; then check="skip:GOSUMDB=off"
  elif go_path_matches "$nosumdb" "$MODULE"; then check="skip:GONOSUMDB=$nosumdb"
  else check=sumdb; fi
else
  check=sumdb
  if [ "$gosumdb" = off ]; then
    say "GOSUMDB=off, but like \`go\` this downloads toolchains only with the checksum database"
    say "(or from a GOPROXY that is a single file:// URL); install Go $ver yourself or unset GOSUMDB"
    exit 1
  fi
fi

# download: the zip from the first proxy in $GOPROXY that has it, into $ZIP.
download() {
  local p url errs=() start=$SECONDS
  IFS=',|' read -ra list <<<"$proxies"
  for p in "${list[@]}"; do
    case "$p" in
      off) errs+=("GOPROXY=off: module downloads disabled"); break ;;
      direct|noproxy|"") continue ;;   # golang.org/toolchain comes from a proxy here, not from VCS
    esac
    url="${p%/}/$MODULE/@v/$MODVER.zip"
    say "downloading $url"
    if curl -fsSL --retry 2 --connect-timeout 30 -o "$ZIP.part" "$url" 2>"$DIR/.curl.err"; then
      mv "$ZIP.part" "$ZIP"; rm -f "$DIR/.curl.err"
      say "downloaded $(du -h "$ZIP" | cut -f1) in $((SECONDS - start))s"
      return 0
    fi
    errs+=("$url: $(tr '\n' ' ' <"$DIR/.curl.err")")
  done
  rm -f "$ZIP.part" "$DIR/.curl.err"
  say "cannot download $MODULE@$MODVER (GOPROXY=$proxies):"; printf '  %s\n' "${errs[@]}" >&2
  return 1
}

# unpack_and_verify: unzip $ZIP into a staging dir and check it; 0: ok (staging in $stage),
# 1: the zip is bad, 2: it could not be checked (checksum database unreachable or not trustworthy).
unpack_and_verify() {
  local rc=0 start=$SECONDS
  stage=$(mktemp -d "$DIR/.unpack.XXXXXX")
  { unzip -Z1 "$ZIP" >"$stage.names" 2>/dev/null && unzip -q "$ZIP" -d "$stage" 2>"$stage.err"; } || {
    say "$ZIP cannot be unpacked: $(tail -3 "$stage.err" 2>/dev/null | tr '\n' ' ')"; return 1; }
  PYCROFT_GOPROXY="$proxies" PYCROFT_GOSUMDB="$gosumdb" PYCROFT_GOSUM_CHECK="$check" \
    PYCROFT_SUMDB_CACHE="$DIR/sumdb" node - "$MODULE" "$MODVER" "$stage.names" "$stage" <<'JS' >"$stage.result" || rc=$?
// Checks an unpacked module zip against the Go checksum database, as cmd/go's sumdb client does.
'use strict';
const crypto = require('crypto'), fs = require('fs'), path = require('path'), os = require('os');
const { spawnSync } = require('child_process');
const [mod, ver, namesFile, stage] = process.argv.slice(2);
class Bad extends Error {}   // the zip is not the module version the database knows: exit 1
class Fail extends Error {}  // the database could not be asked or did not prove its answer: exit 2
const sha = (...b) => crypto.createHash('sha256').update(Buffer.concat(b)).digest();

// h1: golang.org/x/mod/sumdb/dirhash.Hash1 over the zip's files (names in byte order).
function hash1() {
  const prefix = `${mod}@${ver}/`, seen = new Set();
  const names = fs.readFileSync(namesFile, 'utf8').split('\n').filter(Boolean);
  for (const n of names) {
    if (!n.startsWith(prefix) || n.includes('\\') || seen.has(n) ||
        n.slice(prefix.length).split('/').some(e => e === '' || e === '.' || e === '..'))
      throw new Bad(`unexpected file name in the zip: ${JSON.stringify(n)}`);
    seen.add(n);
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let summary = '';
  for (const n of names) {
    const p = path.join(stage, n), st = fs.lstatSync(p);
    if (!st.isFile()) throw new Bad(`${n} is not a regular file`);
    summary += `${sha(fs.readFileSync(p)).toString('hex')}  ${n}\n`;
  }
  return { h1: 'h1:' + sha(Buffer.from(summary)).toString('base64'), files: names.length };
}

// get(url): {ok, status, body, err} through curl (it honours the machine's proxy settings).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gosumdb-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
function get(url) {
  const out = path.join(tmp, 'body');
  fs.rmSync(out, { force: true });
  const r = spawnSync('curl', ['-sSL', '--retry', '2', '--connect-timeout', '20', '--max-time', '120',
                               '-w', '%{http_code}', '-o', out, url], { encoding: 'utf8' });
  const file = url.startsWith('file:');
  const status = file ? (r.status === 0 ? 200 : r.status === 37 ? 404 : 0) : Number(r.stdout) || 0;
  const ok = r.status === 0 && status === 200;
  return { ok, status, body: ok ? fs.readFileSync(out) : null,
           err: r.status !== 0 ? (r.stderr || '').trim().split('\n').pop() || `curl exit ${r.status}` : `HTTP ${status}` };
}

const KNOWN = { 'sum.golang.org': 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8' };

function sumdb(h1) {
  let gosumdb = process.env.PYCROFT_GOSUMDB || 'sum.golang.org';
  if (gosumdb === 'sum.golang.google.cn') gosumdb = 'sum.golang.org https://sum.golang.google.cn';
  const f = gosumdb.trim().split(/\s+/);
  if (KNOWN[f[0]]) f[0] = KNOWN[f[0]];
  const km = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(f[0]);
  if (f.length > 2 || !km) throw new Fail(`GOSUMDB=${gosumdb}: not "name+hash+key [url]" (or a known name)`);
  const [, name, keyHash, keyB64] = km, key = Buffer.from(keyB64, 'base64');
  if (key.length !== 33 || key[0] !== 1 ||
      sha(Buffer.from(name + '\n'), key).subarray(0, 4).toString('hex') !== keyHash)
    throw new Fail(`GOSUMDB key ${f[0]} is not a valid Ed25519 note key`);
  const pub = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'),
                                                           key.subarray(1)]), format: 'der', type: 'spki' });

  // Where to ask: the GOSUMDB URL, else the first proxy that serves <proxy>/sumdb/<name>/supported,
  // else the database itself (https://<name>), as cmd/go's dbClient.initBase.
  let base = f[1], tried = [];
  if (!base) {
    for (const p of (process.env.PYCROFT_GOPROXY || '').split(/[,|]/)) {
      if (p === 'direct' || p === 'off') break;
      if (!p || p === 'noproxy') continue;
      const r = get(`${p.replace(/\/$/, '')}/sumdb/${name}/supported`);
      if (r.ok) { base = `${p.replace(/\/$/, '')}/sumdb/${name}`; break; }
      tried.push(`${p}: ${r.err}`);
    }
    base = base || `https://${name}`;
  }
  // Answers and tiles are kept in $PYCROFT_SUMDB_CACHE/<name>/ once they have passed, as cmd/go keeps
  // them in the module cache; what is read from there is checked like the rest.
  const cacheDir = process.env.PYCROFT_SUMDB_CACHE, fetched = new Map();
  const read = p => {
    const cached = cacheDir && path.join(cacheDir, name, p);
    if (cached && fs.existsSync(cached)) return fs.readFileSync(cached);
    const r = get(`${base}/${p}`);
    if (!r.ok) throw new Fail(`cannot read ${p} from the checksum database ${name} at ${base}: ${r.err}` +
                              (tried.length ? ` (proxies without it: ${tried.join('; ')})` : ''));
    fetched.set(p, r.body);
    return r.body;
  };
  const msg = read(`lookup/${mod}@${ver}`), nl = msg.indexOf(10);

  // The answer: record id, record text, blank line, signed tree head (tlog.ParseRecord, note.Open).
  const idStr = msg.subarray(0, nl).toString(), rest = msg.subarray(nl + 1), end = rest.indexOf('\n\n');
  if (nl < 0 || !/^\d+$/.test(idStr) || end < 0) throw new Fail('malformed checksum database answer');
  const id = Number(idStr), text = rest.subarray(0, end + 1), note = rest.subarray(end + 2);
  const sigAt = note.lastIndexOf('\n\n');
  if (sigAt < 0) throw new Fail('malformed tree note in the checksum database answer');
  const signed = note.subarray(0, sigAt + 1);
  const sigOk = note.subarray(sigAt + 2).toString().split('\n').some(line => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== name) return false;
    const sig = Buffer.from(m[2], 'base64');
    return sig.length === 68 && sig.subarray(0, 4).toString('hex') === keyHash &&
           crypto.verify(null, signed, pub, sig.subarray(4));
  });
  if (!sigOk) throw new Fail(`the tree head in the answer is not signed by ${name}'s key`);
  const tl = signed.toString().split('\n');
  const N = Number(tl[1]), root = Buffer.from(tl[2] || '', 'base64');
  if (tl[0] !== 'go.sum database tree' || !/^\d+$/.test(tl[1]) || root.length !== 32)
    throw new Fail('malformed tree head in the checksum database answer');
  if (!(id < N)) throw new Fail(`record ${id} is outside the signed tree of size ${N}`);

  // Inclusion proof (RFC 6962 hashes, as tlog): the root from the record's leaf hash and the stored
  // hashes of its siblings, read from the database's tiles (height 8), must be the signed root.
  const leaf = b => sha(Buffer.from([0]), b), node = (l, r) => sha(Buffer.from([1]), l, r);
  const tiles = new Map();
  const tilePath = (L, k, w) => {
    let s = String(k % 1000).padStart(3, '0');
    for (k = Math.floor(k / 1000); k > 0; k = Math.floor(k / 1000)) s = `x${String(k % 1000).padStart(3, '0')}/${s}`;
    return `tile/8/${L}/${s}${w < 256 ? `.p/${w}` : ''}`;
  };
  const tile = (L, k, w) => {
    const p = tilePath(L, k, w);
    if (!tiles.has(p)) {
      const data = read(p);
      if (data.length !== w * 32) throw new Fail(`${p}: ${data.length} bytes, want ${w * 32}`);
      tiles.set(p, data);
    }
    return tiles.get(p);
  };
  // stored(level, i): hash of the complete subtree of 2^level leaves starting at leaf i*2^level.
  const stored = (level, i) => {
    const L = Math.floor(level / 8), s = level % 8, first = i * 2 ** s;   // at level 8L
    const k = Math.floor(first / 256), off = first - k * 256;
    const w = Math.min(256, Math.floor(N / 256 ** L) - k * 256);
    if (off + 2 ** s > w) throw new Fail(`no stored hash ${level}/${i} in a tree of size ${N}`);
    const t = tile(L, k, w);
    let hs = [];
    for (let x = off; x < off + 2 ** s; x++) hs.push(t.subarray(x * 32, x * 32 + 32));
    while (hs.length > 1) hs = hs.filter((_, x) => x % 2 === 0).map((h, x) => node(h, hs[2 * x + 1]));
    return hs[0];
  };
  const subtrees = [];   // the tree of size N: complete subtrees of decreasing size, left to right
  let start = 0;
  for (let level = Math.floor(Math.log2(N)) + 1; level >= 0; level--) {
    const size = 2 ** level;
    if (start + size > N) continue;
    if (id >= start && id < start + size) {
      let h = leaf(text), i = id;
      for (let l = 0; l < level; l++, i = Math.floor(i / 2))
        h = i % 2 ? node(stored(l, i - 1), h) : node(h, stored(l, i + 1));
      subtrees.push(h);
    } else subtrees.push(stored(level, start / size));
    start += size;
  }
  let h = subtrees[subtrees.length - 1];
  for (let j = subtrees.length - 2; j >= 0; j--) h = node(subtrees[j], h);
  if (!h.equals(root)) throw new Fail(`record ${id} is not in ${name}'s signed tree of size ${N} (inclusion proof fails)`);
  for (const [p, data] of cacheDir ? fetched : []) {
    fs.mkdirSync(path.dirname(path.join(cacheDir, name, p)), { recursive: true });
    fs.writeFileSync(path.join(cacheDir, name, p), data);
  }

  // The proven record's line for the zip.
  const want = `${mod} ${ver} h1:`;
  const line = text.toString().split('\n').find(l => l.startsWith(want));
  if (!line) throw new Fail(`${name} has no zip hash for ${mod}@${ver}`);
  if (line !== `${mod} ${ver} ${h1}`)
    throw new Bad(`checksum mismatch: the zip has ${h1}, ${name} has ${line.slice(want.length - 3)}`);
  return [`checked against ${name}`,
          `record ${id} of ${name}, in its signed tree of size ${N} (signature and inclusion proof checked), via ${base}`];
}

try {
  const { h1, files } = hash1(), check = process.env.PYCROFT_GOSUM_CHECK || 'sumdb';
  const [short, detail] = check === 'sumdb' ? sumdb(h1)
    : [`NOT checked against a checksum database (${check.slice(5)})`, `from a single file:// GOPROXY`];
  console.log(`${h1}, ${short}\n${files} files; ${detail}`);
} catch (e) {
  console.log(e.message);
  process.exit(e instanceof Bad ? 1 : e instanceof Fail ? 2 : 3);
}
JS
  if [ "$rc" -eq 0 ]; then say "verified in $((SECONDS - start))s: $(sed -n 1p "$stage.result"); $(sed -n 2p "$stage.result")"
  else say "$MODULE@$MODVER: $(cat "$stage.result")"; fi
  return "$rc"
}

rm -rf "$ROOT" "$MARK" "$DIR"/.unpack.*   # leftovers of an interrupted run
fresh=0
[ -f "$ZIP" ] || { download || exit 1; fresh=1; }
rc=0; unpack_and_verify || rc=$?
if [ "$rc" -eq 1 ] && [ "$fresh" -eq 0 ]; then
  say "the cached $ZIP fails its check: deleting it, downloading again"
  rm -rf "$ZIP" "$stage" "$stage".*
  download || exit 1
  rc=0; unpack_and_verify || rc=$?
fi
if [ "$rc" -ne 0 ]; then
  rm -rf "$stage" "$stage".*
  if [ "$rc" -eq 1 ]; then rm -f "$ZIP"; say "refusing the downloaded zip (deleted): Go $ver is not installed"
  else say "cannot verify the zip, so Go $ver is not installed (kept $ZIP for the next try)"; fi
  exit 1
fi

mv "$stage/$MODULE@$MODVER" "$ROOT"
# As cmd/go after a toolchain download: the zip holds go.mod files as _go.mod (a module zip cannot
# hold nested modules), and its commands may lack execute bits.
find "$ROOT" -name _go.mod -execdir cp _go.mod go.mod \;
chmod -R a+x "$ROOT/pkg/tool" "$ROOT/bin"
find "$ROOT/lib" -name 'go_?*_?*_exec' -exec chmod a+x {} + 2>/dev/null || true
{ echo "$MODULE@$MODVER"; cat "$stage.result"; } >"$MARK.tmp" && mv "$MARK.tmp" "$MARK"
rm -rf "$stage" "$stage".*
echo "$ROOT"
