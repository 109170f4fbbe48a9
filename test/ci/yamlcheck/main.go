// yamlcheck parses every YAML file it is given (all documents of each) and prints
// FILE:LINE: MESSAGE for each problem of a file that does not parse, duplicate mapping keys included.
// Exit status 1 when any file failed, 2 on usage errors. On success it prints nothing.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports "yaml: line N: message" (syntax) or "line N: message" (each of a TypeError's);
// the line goes in front so editors can jump to it.
var lineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func report(path, msg string) {
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		fmt.Printf("%s:%s: %s\n", path, m[1], m[2])
	} else {
		fmt.Printf("%s: %s\n", path, msg)
	}
}

func check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	docs := 0
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		// Decoding the node into a generic value is what finds duplicate mapping keys.
		var value any
		if err := node.Decode(&value); err != nil {
			return err
		}
		docs++
	}
	if docs == 0 {
		return fmt.Errorf("no YAML document")
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: yamlcheck FILE...")
		os.Exit(2)
	}
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			failed = true
			var typeErr *yaml.TypeError
			if errors.As(err, &typeErr) {
				for _, msg := range typeErr.Errors {
					report(path, msg)
				}
			} else {
				report(path, err.Error())
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}
