package testservers_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildImagesFollowsHostApt checks that scripts/build-images takes the Debian mirror, the
// image's apt sources and the proxy from the host's apt configuration, in both source formats,
// rather than from a host name of its own. It runs the script's functions on fixture
// configurations; nothing is built.
func TestBuildImagesFollowsHostApt(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script, err := filepath.Abs("../../scripts/build-images")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // under the fixture's etc/apt
		// proxy is what `apt-config dump` prints about proxies.
		proxy, osID                                string
		mirror, sources, bootstrapProxy, proxyConf string
	}{
		{
			name: "one-line sources.list, a company mirror and a proxy",
			files: map[string]string{
				"sources.list": `# company mirror
deb [arch=amd64 signed-by=/usr/share/keyrings/corp.gpg] http://mirror.corp.example/debian-remote bookworm main contrib
deb-src http://mirror.corp.example/debian-remote bookworm main
deb http://mirror.corp.example/debian-remote bookworm-updates main
deb http://mirror.corp.example/security bookworm-security main
`,
				"sources.list.d/other.list.disabled": "deb http://not.this.example/debian bookworm main\n",
			},
			proxy:          "Acquire::http::Proxy \"http://proxy.corp.example:3128/\";\n",
			mirror:         "http://mirror.corp.example/debian-remote\t/usr/share/keyrings/corp.gpg",
			sources:        "deb [signed-by=/usr/share/keyrings/corp.gpg] http://mirror.corp.example/debian-remote bookworm main contrib\ndeb http://mirror.corp.example/debian-remote bookworm-updates main\ndeb http://mirror.corp.example/security bookworm-security main",
			bootstrapProxy: "http://proxy.corp.example:3128/",
			proxyConf:      "Acquire::http::Proxy \"http://proxy.corp.example:3128/\";",
		},
		{
			name: "deb822 sources, a disabled stanza, an inline key, a DIRECT host",
			files: map[string]string{
				"sources.list.d/debian.sources": `Types: deb
URIs: http://apt.internal.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://old.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb deb-src
URIs: http://apt.internal.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 -----END PGP PUBLIC KEY BLOCK-----
`,
			},
			proxy: "Acquire::http::Proxy \"http://proxy.example:8080\";\n" +
				"Acquire::http::Proxy::apt.internal.example \"DIRECT\";\n",
			mirror:         "http://apt.internal.example/debian\t/usr/share/keyrings/debian-archive-keyring.gpg",
			sources:        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://apt.internal.example/debian bookworm main\ndeb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://apt.internal.example/debian bookworm-updates main\ndeb http://apt.internal.example/debian-security bookworm-security main",
			bootstrapProxy: "",
			proxyConf:      "Acquire::http::Proxy \"http://proxy.example:8080\";\nAcquire::http::Proxy::apt.internal.example \"DIRECT\";",
		},
		{
			name: "a Debian host of another release",
			files: map[string]string{
				"sources.list.d/debian.sources": "Types: deb\nURIs: https://deb.example.org/debian\nSuites: trixie trixie-updates\nComponents: main\n\n" +
					"Types: deb\nURIs: https://deb.example.org/debian-security\nSuites: trixie-security\nComponents: main\n",
			},
			proxy:          "Acquire::http::Proxy \"http://p.example:3128\";\n",
			osID:           "debian",
			mirror:         "https://deb.example.org/debian\t",
			sources:        "deb https://deb.example.org/debian bookworm main\ndeb https://deb.example.org/debian bookworm-updates main\ndeb https://deb.example.org/debian-security bookworm-security main",
			bootstrapProxy: "http://p.example:3128", // the https method falls back to the http proxy
			proxyConf:      "Acquire::http::Proxy \"http://p.example:3128\";",
		},
		{
			name:           "no Debian source at all",
			files:          map[string]string{"sources.list": "deb http://archive.ubuntu.com/ubuntu noble main\n"},
			osID:           "ubuntu",
			mirror:         "http://deb.debian.org/debian\t",
			sources:        "deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main",
			bootstrapProxy: "",
			proxyConf:      "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			apt := filepath.Join(dir, "apt")
			for name, content := range tc.files {
				write(t, filepath.Join(apt, name), content)
			}
			write(t, filepath.Join(dir, "proxy"), tc.proxy)
			write(t, filepath.Join(dir, "os-release"), "ID="+tc.osID+"\n")
			get := func(call string) string {
				t.Helper()
				cmd := exec.Command("bash", "-c", `set -euo pipefail
source "$1"
os_release=$3/os-release
fixture=$3
apt_config_dump() { cat "$fixture/proxy"; }
mirror=$(debian_mirror "$2" 2>/dev/null)
`+call, "bash", script, apt, dir)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v\n%s", call, err, out)
				}
				return strings.TrimSuffix(string(out), "\n")
			}
			if got := get(`printf '%s\n' "$mirror"`); got != tc.mirror {
				t.Errorf("debian_mirror = %q, want %q", got, tc.mirror)
			}
			if got := get(`rootfs_sources "$2" "${mirror%%$'\t'*}"`); got != tc.sources {
				t.Errorf("rootfs_sources =\n%s\nwant\n%s", got, tc.sources)
			}
			if got := get(`debootstrap_proxy "${mirror%%$'\t'*}"`); got != tc.bootstrapProxy {
				t.Errorf("debootstrap_proxy = %q, want %q", got, tc.bootstrapProxy)
			}
			if got := get(`apt_proxy_conf`); got != tc.proxyConf {
				t.Errorf("apt_proxy_conf = %q, want %q", got, tc.proxyConf)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
