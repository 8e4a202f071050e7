package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

func osEnvironment() *environment {
	return &environment{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv:          os.LookupEnv,
		stdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
		readPassword: func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(os.Stderr)
			return string(b), err
		},
	}
}

// maxPasswordLine bounds what --password-stdin reads.
const maxPasswordLine = 4 << 10

// readNewPassword reads a password from stdin (one line, as `docker login
// --password-stdin` does) or, on a terminal, asks twice.
func readNewPassword(env *environment, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(env.stdin, maxPasswordLine)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !env.stdinIsTerminal {
		return "", errors.New("stdin is not a terminal: pass --password-stdin and pipe the password in")
	}
	first, err := env.readPassword("Password: ")
	if err != nil {
		return "", err
	}
	second, err := env.readPassword("Repeat password: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the passwords do not match")
	}
	return first, nil
}
