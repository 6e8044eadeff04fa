package otelsession

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/sessionstore/sessionstore"
)

func TestKindOf(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("redis: load: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("postgres: load: %w", timeout), "timeout"},
		{fmt.Errorf("memory: load: %w", context.Canceled), "canceled"},
		{fmt.Errorf("redis: save: %w", sessionstore.ErrTooLarge), "too_large"},
		{fmt.Errorf("redis: load: %w", refused), "unreachable"},
		{fmt.Errorf("memcache: load: %w", io.ErrUnexpectedEOF), "unreachable"},
		{fmt.Errorf("mongo: load: %w", net.ErrClosed), "unreachable"},
		{fmt.Errorf("memory: load: %w", sessionstore.ErrClosed), "_OTHER"},
		{errors.New("something else"), "_OTHER"},
	} {
		if got := kindNames[kindOf(c.err)]; got != c.want {
			t.Errorf("kindOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
