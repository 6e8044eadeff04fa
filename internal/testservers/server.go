package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Spec describes one kind of server for Start; each service package defines its own.
type Spec struct {
	// Name names the service in messages and keys its shared container: "postgres".
	Name string
	// ImageEnv names the variable that overrides DefaultImage: "SESSIONSTORE_POSTGRES_IMAGE".
	ImageEnv string
	// DefaultImage is the official image, with a pinned major version: "postgres:17".
	DefaultImage string
	// URLEnv names the variable that points the tests at a running server instead of a
	// container; the skip message suggests it.
	URLEnv string
	// Port is the server's port inside the container: "5432/tcp".
	Port string
	// Cmd replaces the image's command; it must work with the official image and with the
	// one scripts/build-images makes (they accept the same command lines).
	Cmd []string
	// Env is the container's environment.
	Env map[string]string
	// WaitLog, when set, is a regular expression matching the log line the server prints
	// once it has started. Ping confirms readiness either way.
	WaitLog string
	// StopSignal replaces the image's stop signal (PostgreSQL shuts down at once on SIGINT
	// and waits for its clients on SIGTERM).
	StopSignal string
	// Ping reports whether the server at addr (host:port) answers through its real driver.
	Ping func(ctx context.Context, addr string) error
}

// image is the image to run: the override from the environment, else the official one.
func (spec *Spec) image() string {
	if img := os.Getenv(spec.ImageEnv); img != "" {
		return img
	}
	return spec.DefaultImage
}

// Server is one running server. Its container fields are unset when an environment
// variable pointed the tests at an existing server (see External); the fault controls then
// skip the test.
type Server struct {
	// Addr is where the server answers from the host: "localhost:32768".
	Addr string

	spec      *Spec
	ctr       testcontainers.Container
	dedicated bool
}

// External returns a Server for an existing server at addr that no container backs.
func External(addr string) *Server {
	return &Server{Addr: addr}
}

// Container returns the server's container, or nil for an External server. Service packages
// use it to run commands inside (forming a Redis Cluster).
func (s *Server) Container() testcontainers.Container {
	return s.ctr
}

// Stop stops the server's container (docker stop). Its host port stays bound to it, so
// Start brings the server back at the same Addr; meanwhile connections are refused.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.requireOwn(t, "Stop")
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout+5*time.Second)
	defer cancel()
	timeout := stopTimeout
	if err := s.ctr.Stop(ctx, &timeout); err != nil {
		t.Fatalf("testservers: stop %s: %v", s.spec.Name, err)
	}
}

// Start starts the stopped server's container again and waits until it answers at the same
// Addr.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.requireOwn(t, "Start")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.ctr.Start(ctx); err != nil {
		t.Fatalf("testservers: start %s again: %v", s.spec.Name, err)
	}
	if err := waitReady(ctx, s.spec, s.Addr); err != nil {
		t.Fatalf("testservers: %v", err)
	}
}

// Pause freezes the server (docker pause): connections stay open and requests hang until
// the client's own deadline, unlike Stop, where they are refused.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.requireOwn(t, "Pause")
	if err := pause(s.ctr.GetContainerID(), true); err != nil {
		t.Fatalf("testservers: pause %s: %v", s.spec.Name, err)
	}
}

// Unpause resumes a paused server; it answers again at once.
func (s *Server) Unpause(t testing.TB) {
	t.Helper()
	s.requireOwn(t, "Unpause")
	if err := pause(s.ctr.GetContainerID(), false); err != nil {
		t.Fatalf("testservers: unpause %s: %v", s.spec.Name, err)
	}
}

// requireOwn stops a fault control on a server the test does not own: an External server
// belongs to the user, and stopping a shared one would break the other tests.
func (s *Server) requireOwn(t testing.TB, op string) {
	t.Helper()
	switch {
	case s.ctr == nil:
		t.Skipf("testservers: %s needs a container of the test's own; the tests point at an existing server at %s", op, s.Addr)
	case !s.dedicated:
		t.Fatalf("testservers: %s %s: the server is shared by the whole test binary; ask for one with testservers.Dedicated()", op, s.spec.Name)
	}
}

// launchGroup starts n servers at once, then runs setup on them. On any error the group's
// containers are gone when it returns (shared ones at the end of Main).
func launchGroup(ctx context.Context, spec *Spec, n int, setup func(context.Context, []*Server) error, dedicated bool) ([]*Server, error) {
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { servers[i], errs[i] = launch(ctx, spec, dedicated) })
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil && setup != nil {
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		began := time.Now()
		if err = setup(sctx, servers); err != nil {
			err = fmt.Errorf("set up %d %s servers: %w", n, spec.Name, err)
		} else {
			logf("%d %s servers set up in %v", n, spec.Name, time.Since(began).Round(time.Millisecond))
		}
	}
	if err != nil {
		if dedicated { // shared containers are already tracked for Main
			err = errors.Join(err, terminateServers(servers))
		}
		return nil, err
	}
	return servers, nil
}

// launch creates and starts one container of spec and waits until its server answers
// through the driver. A dedicated container is published on a fixed free host port, and
// launched again on another one if a different process takes that port first.
func launch(ctx context.Context, spec *Spec, dedicated bool) (*Server, error) {
	img := spec.image()
	if err := ensureImage(ctx, img, spec.ImageEnv); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	began := time.Now()
	var lastErr error
	for range 3 {
		hostPort := 0
		if dedicated {
			p, err := freePort()
			if err != nil {
				return nil, fmt.Errorf("%s: find a free host port: %w", spec.Name, err)
			}
			hostPort = p
		}
		s, err := run(ctx, spec, img, hostPort, dedicated)
		if err == nil {
			logf("%s ready at %s in %v (image %s)", spec.Name, s.Addr, time.Since(began).Round(time.Millisecond), img)
			return s, nil
		}
		lastErr = err
		if !dedicated || !portTaken(err) {
			break
		}
	}
	return nil, lastErr
}

// portTaken reports whether Docker could not bind the chosen host port because another
// process took it after freePort released it.
func portTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use")
}

// run is one attempt of launch.
func run(ctx context.Context, spec *Spec, img string, hostPort int, dedicated bool) (*Server, error) {
	req := testcontainers.ContainerRequest{
		Image:        img,
		Cmd:          spec.Cmd,
		Env:          spec.Env,
		ExposedPorts: []string{spec.Port},
		Labels:       containerLabels(spec.Name),
		ConfigModifier: func(c *container.Config) {
			if spec.StopSignal != "" {
				c.StopSignal = spec.StopSignal
			}
		},
	}
	if spec.WaitLog != "" {
		req.WaitingFor = wait.ForLog(spec.WaitLog).AsRegexp().WithStartupTimeout(startTimeout)
	}
	if hostPort != 0 {
		req.HostConfigModifier = func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort(spec.Port): {{HostPort: strconv.Itoa(hostPort)}},
			}
		}
	}

	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req,
		Started:          true,
	})
	// A container that was created is ours to remove, even when it failed to start.
	if ctr != nil {
		if dedicated {
			if err != nil {
				return nil, errors.Join(fmt.Errorf("%s: start container from %s: %w", spec.Name, img, err),
					terminateAll([]testcontainers.Container{ctr}))
			}
		} else if terr := track(ctr); terr != nil {
			return nil, terr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: start container from %s: %w", spec.Name, img, err)
	}

	s := &Server{spec: spec, ctr: ctr, dedicated: dedicated}
	if s.Addr, err = hostAddr(ctx, ctr, spec.Port); err == nil {
		err = waitReady(ctx, spec, s.Addr)
	}
	if err != nil {
		if dedicated {
			err = errors.Join(err, terminateAll([]testcontainers.Container{ctr}))
		}
		return nil, err
	}
	return s, nil
}

// hostAddr is the host:port where the container's port is published.
func hostAddr(ctx context.Context, ctr testcontainers.Container, port string) (string, error) {
	host, err := ctr.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("container host: %w", err)
	}
	mapped, err := ctr.MappedPort(ctx, port)
	if err != nil {
		return "", fmt.Errorf("published port of %s: %w", port, err)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(mapped.Num()))), nil
}

// waitReady pings the server through its driver until it answers. A log line or an open
// port alone can come early: the official postgres image prints "ready to accept
// connections" once for its setup server before the real one starts.
func waitReady(ctx context.Context, spec *Spec, addr string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := spec.Ping(pctx, addr)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s at %s did not answer: %w (last error: %v)", spec.Name, addr, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// freePort asks the kernel for a port free on every interface, where Docker will bind it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// terminateServers removes the containers of servers.
func terminateServers(servers []*Server) error {
	ctrs := make([]testcontainers.Container, 0, len(servers))
	for _, s := range servers {
		if s != nil && s.ctr != nil {
			ctrs = append(ctrs, s.ctr)
		}
	}
	return terminateAll(ctrs)
}

// logf reports progress (which image, how long a start took) on stderr in verbose runs,
// where it helps; a quiet run prints nothing.
func logf(format string, args ...any) {
	if testing.Testing() && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "testservers: "+format+"\n", args...)
	}
}

// ClosedAddr returns a loopback address on which nothing listens, for tests
// of a store whose database is unreachable (a refused connection).
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
