// Package redistest provides real Redis servers for tests: one server, or a Redis Cluster of
// three masters, in containers shared by the test binary, or the servers
// SESSIONSTORE_REDIS_URL and SESSIONSTORE_REDIS_CLUSTER_ADDRS point at.
//
// The image is SESSIONSTORE_REDIS_IMAGE, else the official redis:7. Tests share the servers
// and isolate themselves by key prefix. The package's tests must run through
// testservers.Main (see package testservers).
package redistest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

// Variables pointing the tests at existing servers instead of containers.
const (
	// URLEnv holds a Redis URL: redis://host:6379/0.
	URLEnv = "SESSIONSTORE_REDIS_URL"
	// ClusterAddrsEnv holds a comma-separated list of cluster nodes: host1:7000,host2:7001.
	ClusterAddrsEnv = "SESSIONSTORE_REDIS_CLUSTER_ADDRS"
)

const imageEnv, defaultImage = "SESSIONSTORE_REDIS_IMAGE", "redis:7"

// spec is a single Redis server with persistence off: its data is scratch.
var spec = &testservers.Spec{
	Name:         "redis",
	ImageEnv:     imageEnv,
	DefaultImage: defaultImage,
	URLEnv:       URLEnv,
	Port:         "6379/tcp",
	Cmd:          []string{"redis-server", "--save", "", "--appendonly", "no"},
	WaitLog:      "Ready to accept connections",
	Ping:         ping,
}

// clusterSpec is one node of the cluster; NewCluster joins three of them.
var clusterSpec = &testservers.Spec{
	Name:         "redis-cluster",
	ImageEnv:     imageEnv,
	DefaultImage: defaultImage,
	URLEnv:       ClusterAddrsEnv,
	Port:         "6379/tcp",
	Cmd: []string{"redis-server", "--port", "6379", "--cluster-enabled", "yes",
		"--cluster-config-file", "/tmp/nodes.conf", "--save", "", "--appendonly", "no"},
	WaitLog: "Ready to accept connections",
	Ping:    ping,
}

func ping(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return c.Ping(ctx).Err()
}

// New returns a client of a ready Redis server, and that server. The client is the test's
// own, honours context deadlines (ContextTimeoutEnabled) and closes when the test ends; the server is shared by the test binary unless
// testservers.Dedicated is given.
func New(t testing.TB, opts ...testservers.Option) (*redis.Client, *testservers.Server) {
	t.Helper()
	var o *redis.Options
	var srv *testservers.Server
	if url := os.Getenv(URLEnv); url != "" {
		var err error
		if o, err = redis.ParseURL(url); err != nil {
			t.Fatalf("redistest: %s: %v", URLEnv, err)
		}
		srv = testservers.External(o.Addr)
	} else {
		srv = testservers.Start(t, spec, opts...)
		o = &redis.Options{Addr: srv.Addr}
	}
	// go-redis ignores a context's deadline on the socket unless told to: against a paused
	// server a call with a 300 ms context otherwise returns after about 5 s.
	o.ContextTimeoutEnabled = true
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// NewCluster returns a client of a ready Redis Cluster of three masters holding all 16384
// slots, and its nodes. The client is the test's own and honours context deadlines; the
// cluster is shared by the test binary.
//
// The nodes announce their addresses on the Docker bridge (172.17.x.x:6379), which the
// host may not reach (Docker Desktop); the client's dialer maps each to the node's
// published port on the host instead, which works wherever published ports work.
func NewCluster(t testing.TB) (*redis.ClusterClient, []*testservers.Server) {
	t.Helper()
	if addrs := os.Getenv(ClusterAddrsEnv); addrs != "" {
		o := &redis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true}
		servers := make([]*testservers.Server, len(o.Addrs))
		for i, a := range o.Addrs {
			servers[i] = testservers.External(a)
		}
		c := redis.NewClusterClient(o)
		t.Cleanup(func() { c.Close() })
		return c, servers
	}

	servers := testservers.StartGroup(t, clusterSpec, 3, formCluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	published := make(map[string]string, len(servers)) // announced address -> host address
	seeds := make([]string, len(servers))
	for i, s := range servers {
		announced, err := bridgeAddr(ctx, s)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		published[announced] = s.Addr
		seeds[i] = announced
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 seeds,
		ContextTimeoutEnabled: true,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if hostAddr, ok := published[addr]; ok {
				addr = hostAddr
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { c.Close() })
	return c, servers
}

// bridgeAddr is the address a node announces to the cluster: its container's IP.
func bridgeAddr(ctx context.Context, s *testservers.Server) (string, error) {
	ip, err := s.Container().ContainerIP(ctx)
	if err != nil {
		return "", fmt.Errorf("cluster node %s: container IP: %w", s.Addr, err)
	}
	return net.JoinHostPort(ip, "6379"), nil
}

// formCluster joins the nodes with redis-cli inside the first one (nodes must meet on
// addresses they can reach from each other) and waits until every node reports
// cluster_state:ok, which Redis delays by about two seconds for a new master.
func formCluster(ctx context.Context, servers []*testservers.Server) error {
	cmd := []string{"redis-cli", "--cluster", "create"}
	for _, s := range servers {
		addr, err := bridgeAddr(ctx, s)
		if err != nil {
			return err
		}
		cmd = append(cmd, addr)
	}
	cmd = append(cmd, "--cluster-yes")
	code, out, err := servers[0].Container().Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w", err)
	}
	if code != 0 {
		msg, _ := io.ReadAll(out)
		return fmt.Errorf("redis-cli --cluster create exited with %d: %s", code, msg)
	}

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for _, s := range servers {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		err := waitClusterOK(ctx, c, tick.C)
		c.Close()
		if err != nil {
			return fmt.Errorf("cluster node %s: %w", s.Addr, err)
		}
	}
	return nil
}

func waitClusterOK(ctx context.Context, c *redis.Client, tick <-chan time.Time) error {
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster_state never became ok: %w (last: %q, %v)", ctx.Err(), info, err)
		case <-tick:
		}
	}
}
