// Command eventwire-demo runs `make demo`: eventwire's main job against an
// AWS emulator on loopback. See internal/tools/demo.
//
// A thin main over internal/tools/demo, the only package it imports;
// nothing imports it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eventwire/eventwire/internal/tools/demo"
)

func main() {
	examples := flag.String("examples", "examples", "folder of definition files to apply")
	flag.Parse()
	dir, err := filepath.Abs(*examples)
	if err == nil {
		err = demo.Run(context.Background(), dir, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("\nDemo finished: everything above ran against moto on loopback; nothing touched a real AWS account.")
}
