package testservers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// engine is the binary's connection to the Docker engine, checked once: every test that
// needs a container learns at once whether there is an engine, without each one waiting.
var engine struct {
	once sync.Once
	cli  *testcontainers.DockerClient
	err  error
}

// connectEngine connects to the Docker engine testcontainers-go would use and pings it.
func connectEngine() (*testcontainers.DockerClient, error) {
	engine.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), engineCheckTimeout)
		defer cancel()
		engine.cli, engine.err = dial(ctx)
	})
	return engine.cli, engine.err
}

func dial(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	// Older testcontainers versions panicked when no Docker host could be found.
	defer func() {
		if r := recover(); r != nil {
			cli, err = nil, fmt.Errorf("%v", r)
		}
	}()
	// testcontainers-go falls back to the default socket when DOCKER_HOST does not answer;
	// a user who set it means that engine, so its failure is the answer.
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		if err := pingDockerHost(ctx); err != nil {
			return nil, fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
		}
	}
	cli, err = testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	// NewDockerClientWithOpts falls back to a client that was never checked.
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// pingDockerHost pings the engine the Docker environment variables name.
func pingDockerHost(ctx context.Context) error {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Ping(ctx, client.PingOptions{})
	return err
}

func closeEngine() {
	if engine.cli != nil {
		engine.cli.Close()
	}
}

// requireEngine skips the test, or fails it under CI=true, when no Docker engine answers.
func requireEngine(t testing.TB, spec *Spec) {
	t.Helper()
	if _, err := connectEngine(); err != nil {
		msg := fmt.Sprintf("testservers: %s: no Docker engine (%v); run ./scripts/test to start one, or set %s to use a running server",
			spec.Name, err, spec.URLEnv)
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// ensureImage makes sure img is present, pulling it once if needed. testcontainers-go
// would retry a failing pull for many minutes; on a machine without a registry the answer
// is the locally built images instead.
func ensureImage(ctx context.Context, img, imageEnv string) error {
	cli, err := connectEngine()
	if err != nil {
		return err
	}
	if _, err := cli.ImageInspect(ctx, img); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", img, err)
	}

	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	logf("pulling %s", img)
	resp, err := cli.ImagePull(ctx, img, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("image %s is not present and cannot be pulled (%w); "+
			"run ./scripts/test, which builds local images when no registry answers, or set %s", img, err, imageEnv)
	}
	return nil
}

// pause pauses or unpauses the container with the given id.
func pause(id string, paused bool) error {
	cli, err := connectEngine()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if paused {
		_, err = cli.ContainerPause(ctx, id, client.ContainerPauseOptions{})
	} else {
		_, err = cli.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	}
	return err
}

// terminateAll removes containers concurrently; a test binary's end should not wait for
// them one by one. A forced remove kills the server at once, paused or not: its data is
// scratch.
func terminateAll(ctrs []testcontainers.Container) error {
	if len(ctrs) == 0 {
		return nil
	}
	cli, err := connectEngine()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), terminateTimeout)
	defer cancel()
	errs := make([]error, len(ctrs))
	var wg sync.WaitGroup
	for i, c := range ctrs {
		wg.Go(func() {
			id := c.GetContainerID()
			_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				errs[i] = fmt.Errorf("remove container %.12s: %w", id, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
