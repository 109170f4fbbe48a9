import { writeFileSync } from "node:fs";
import { WATCH } from "../src/app/watcher.js";
import { RECEIVE } from "../src/app/receiver.js";
writeFileSync("/tmp/wt/watch.py", WATCH);
writeFileSync("/tmp/wt/recv.py", RECEIVE);
