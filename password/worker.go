package password

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"

	"github.com/tollgate/tollgate/fault"
)

// A Worker computes password hashes in a child process running at the
// lowest CPU priority. A login costs tens of milliseconds of a core; in the
// server's own process a burst of them would take the cores from every
// cheap request (token checks), whatever Go's scheduler is told, because
// argon2 computes on goroutines it starts itself. In a niced process the
// kernel gives hashing only the CPU other work leaves idle — all of it when
// the server is otherwise quiet.
//
// The child is the same binary (see ServeWorker); requests and answers are
// JSON lines over its stdin and stdout. The Hasher's semaphore still bounds
// how many computations are in flight.
type Worker struct {
	newCmd func() *exec.Cmd
	log    *slog.Logger

	mu   sync.Mutex
	proc *workerProc
}

// NewWorker returns a Worker that runs the process newCmd describes; the
// process must call ServeWorker on its stdin and stdout.
func NewWorker(newCmd func() *exec.Cmd, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{newCmd: newCmd, log: log}
}

// Start launches the process now, so that a server fails at start-up rather
// than at its first login when the worker cannot run.
func (w *Worker) Start() error {
	_, err := w.current()
	return err
}

// Close ends the process: it exits when its stdin closes.
func (w *Worker) Close() error {
	w.mu.Lock()
	p := w.proc
	w.proc = nil
	w.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = p.stdin.Close()
	<-p.dead
	return nil
}

type workerRequest struct {
	ID      uint64 `json:"id"`
	Op      string `json:"op"` // "hash" or "verify"
	Plain   string `json:"plain"`
	Encoded string `json:"encoded,omitempty"`
	Params  Params `json:"params"`
}

type workerResponse struct {
	ID      uint64 `json:"id"`
	Encoded string `json:"encoded,omitempty"`
	OK      bool   `json:"ok"`
	Err     string `json:"err,omitempty"`
}

// workerProc is one running child and the calls waiting on it.
type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	wmu   sync.Mutex
	enc   *json.Encoder

	pmu     sync.Mutex
	nextID  uint64
	pending map[uint64]chan workerResponse
	dead    chan struct{} // closed when the child's output ends
}

// current returns the running child, starting one if there is none or the
// last one died: a crashed worker costs the calls in flight, not the server.
func (w *Worker) current() (*workerProc, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc != nil {
		select {
		case <-w.proc.dead:
			w.log.Warn("password hashing worker exited; starting a new one")
		default:
			return w.proc, nil
		}
	}
	p, err := w.launch()
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, CodeHasherUnavailable, err)
	}
	w.proc = p
	return p, nil
}

func (w *Worker) launch() (*workerProc, error) {
	cmd := w.newCmd()
	prepareWorker(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting password hashing worker: %w", err)
	}
	if err := lowerWorkerPriority(cmd.Process.Pid); err != nil {
		w.log.Warn("could not lower the password hashing worker's priority", "err", err)
	}
	p := &workerProc{
		cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin),
		pending: map[uint64]chan workerResponse{}, dead: make(chan struct{}),
	}
	go p.readLoop(stdout, w.log)
	return p, nil
}

// readLoop hands each answer to its caller; when the child's output ends it
// fails every call still waiting.
func (p *workerProc) readLoop(stdout io.Reader, log *slog.Logger) {
	dec := json.NewDecoder(bufio.NewReader(stdout))
	for {
		var res workerResponse
		if err := dec.Decode(&res); err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("password hashing worker sent a bad answer", "err", err)
			}
			break
		}
		p.pmu.Lock()
		ch := p.pending[res.ID]
		delete(p.pending, res.ID)
		p.pmu.Unlock()
		if ch != nil {
			ch <- res
		}
	}
	p.pmu.Lock()
	close(p.dead)
	for id, ch := range p.pending {
		delete(p.pending, id)
		close(ch)
	}
	p.pmu.Unlock()
	_ = p.cmd.Wait()
}

// call sends one request and waits for its answer. It does not give up on
// ctx: the computation runs to the end either way, and the caller's slot in
// the Hasher's semaphore must stay taken until it has.
func (w *Worker) call(req workerRequest) (workerResponse, error) {
	p, err := w.current()
	if err != nil {
		return workerResponse{}, err
	}
	ch := make(chan workerResponse, 1)
	p.pmu.Lock()
	select {
	case <-p.dead:
		p.pmu.Unlock()
		return workerResponse{}, errWorkerGone()
	default:
	}
	p.nextID++
	req.ID = p.nextID
	p.pending[req.ID] = ch
	p.pmu.Unlock()

	p.wmu.Lock()
	err = p.enc.Encode(req)
	p.wmu.Unlock()
	if err != nil {
		p.pmu.Lock()
		delete(p.pending, req.ID)
		p.pmu.Unlock()
		return workerResponse{}, errWorkerGone()
	}
	res, ok := <-ch
	if !ok {
		return workerResponse{}, errWorkerGone()
	}
	if res.Err != "" {
		return workerResponse{}, fault.Wrap(fault.Internal, CodeHasherFailed, errors.New(res.Err))
	}
	return res, nil
}

func errWorkerGone() error {
	return &fault.Error{Kind: fault.Unavailable, Code: CodeHasherUnavailable,
		Detail: "the server could not check the password; try again shortly"}
}

func (w *Worker) hash(plain string, p Params) (string, error) {
	res, err := w.call(workerRequest{Op: "hash", Plain: plain, Params: p})
	return res.Encoded, err
}

func (w *Worker) verify(plain, encoded string) (bool, error) {
	res, err := w.call(workerRequest{Op: "verify", Plain: plain, Encoded: encoded})
	return res.OK, err
}

// ServeWorker is the child's side: it answers requests from r on w until r
// ends, computing each on its own goroutine (the parent bounds how many).
func ServeWorker(r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	enc := json.NewEncoder(w)
	var mu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var req workerRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := compute(req)
			mu.Lock()
			_ = enc.Encode(res)
			mu.Unlock()
		}()
	}
}

func compute(req workerRequest) workerResponse {
	res := workerResponse{ID: req.ID}
	switch req.Op {
	case "hash":
		if err := req.Params.validate(); err != nil {
			res.Err = err.Error()
			break
		}
		res.Encoded = newArgon2(req.Plain, req.Params).String()
	case "verify":
		s, err := parseEncoded(req.Encoded)
		if err == nil {
			res.OK, err = s.matches(req.Plain)
		}
		if err != nil {
			res.Err = err.Error()
		}
	default:
		res.Err = "unknown operation " + req.Op
	}
	return res
}
