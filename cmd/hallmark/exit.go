package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// exitCode is hallmark's exit status. Every command ends through
// commandExit.finish, so that one outcome has one code everywhere:
//
//	0    done: built, allowed, verified, valid
//	1    failed: denied, nothing verified, a bundle that does not verify, the build failed
//	2    could not evaluate: bad flags or arguments, gateway or registry unreachable, image missing
//	130  interrupted by SIGINT or SIGTERM
type exitCode int

const (
	exitOK          exitCode = 0
	exitFailed      exitCode = 1
	exitCannotTell  exitCode = 2
	exitInterrupted exitCode = 130
)

// exitError carries a process exit code through cobra to main; its
// message has been printed already.
type exitError struct{ code exitCode }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// notVerified is the error of a command that evaluated what it was asked
// about and found it wanting: an image denied or with nothing verified, a
// bundle that does not verify, a signature that could not be made.
type notVerified struct{ msg string }

func (e notVerified) Error() string { return e.msg }

// usageError is a mistake in the flags or arguments.
type usageError string

func (e usageError) Error() string { return string(e) }

// commandExit says how the errors of one kind of command end the process.
type commandExit struct {
	// otherwise is the code of an error that is neither notVerified, a
	// usageError nor an interrupt.
	otherwise exitCode
	// oneLine folds each message onto one line.
	oneLine bool
}

var (
	// buildExit ends build, base build, dev and anything main sees
	// directly: an error means the work failed, whatever its cause.
	buildExit = commandExit{otherwise: exitFailed}
	// verifyExit ends verify, inspect, sbom, policy and the queries
	// (images, builds, audit, …): an error means the image (or policy, or
	// query) could not be evaluated.
	verifyExit = commandExit{otherwise: exitCannotTell}
	// conformanceExit ends the conformance shim: as verifyExit, on one line
	// (the suite's CLI protocol).
	conformanceExit = commandExit{otherwise: exitCannotTell, oneLine: true}
)

// code is the exit code for err, the one table of them: exitOK for nil,
// exitFailed for notVerified, exitInterrupted once ctx is done,
// exitCannotTell for a usageError, else x.otherwise.
func (x commandExit) code(ctx context.Context, err error) exitCode {
	var (
		nv notVerified
		ue usageError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &nv):
		return exitFailed
	case ctx != nil && ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &ue):
		return exitCannotTell
	}
	return x.otherwise
}

// finish ends the command called name ("verify", "conformance
// verify-bundle"; "" for main): it prints err, if any, as "hallmark NAME:
// err" on stderr ("interrupted" once ctx is done) with control characters
// replaced, and returns the exitError that makes main exit with x.code.
func (x commandExit) finish(ctx context.Context, stderr io.Writer, name string, err error) error {
	code := x.code(ctx, err)
	if code == exitOK {
		return nil
	}
	msg := err.Error()
	if code == exitInterrupted {
		msg = "interrupted"
	}
	if x.oneLine {
		msg = oneLine(msg)
	}
	prefix := "hallmark"
	if name != "" {
		prefix += " " + name
	}
	fmt.Fprintf(stderr, "%s: %s\n", prefix, printable(msg))
	return exitError{code: code}
}

// usage makes flag errors, and the errors of args about the positional
// arguments, end cmd (called name) as usage errors, followed by the usage
// line unless x.oneLine.
func (x commandExit) usage(cmd *cobra.Command, name string, args cobra.PositionalArgs) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return x.finish(c.Context(), c.ErrOrStderr(), name, usageError(err.Error()))
	})
	cmd.Args = func(c *cobra.Command, a []string) error {
		err := args(c, a)
		if err == nil {
			return nil
		}
		msg := err.Error()
		if !x.oneLine {
			msg += "\nUsage: " + c.UseLine()
		}
		return x.finish(c.Context(), c.ErrOrStderr(), name, usageError(msg))
	}
}

// exactlyOne accepts exactly one positional argument, described by what
// ("IMAGE").
func exactlyOne(what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("want exactly one %s, got %d arguments", what, len(args))
		}
		return nil
	}
}
