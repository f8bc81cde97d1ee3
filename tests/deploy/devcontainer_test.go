package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/tailscale/hujson"
)

// The devcontainer cannot be started here (no Docker engine), so its files
// are read with the loaders the tools use: Docker Compose's own compose-go,
// and a JSON-with-comments parser for devcontainer.json.

// loadCompose loads .devcontainer/compose.yaml as Docker Compose would,
// validating it against the compose schema, with an empty environment so
// that the file's own defaults are what is checked.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	dir := filepath.Join(repoRoot(t), ".devcontainer")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(nil), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("compose.yaml has no service %s", name)
	}
	return s
}

// The three services, on pinned images, started in order: SQL Server first,
// healthy by its own sqlcmd; then the emulator on it, with its Config.json;
// the dev container once SQL Server is healthy.
func TestDevcontainerCompose(t *testing.T) {
	p := loadCompose(t)
	app, sql, sb := service(t, p, "app"), service(t, p, "sqlserver"), service(t, p, "servicebus")
	if !strings.HasPrefix(app.Image, "mcr.microsoft.com/devcontainers/go:2-1.26-") {
		t.Errorf("app image %s, want mcr.microsoft.com/devcontainers/go:2-1.26-* (there is no 1-1.26 tag)", app.Image)
	}
	if sql.Image != "mcr.microsoft.com/mssql/server:2022-latest" {
		t.Errorf("sqlserver image %s, want SQL Server 2022 (Azure SQL Edge is retired)", sql.Image)
	}
	if sb.Image != "mcr.microsoft.com/azure-messaging/servicebus-emulator:2.0.0" {
		t.Errorf("servicebus image %s, want the emulator pinned at 2.0.0", sb.Image)
	}
	if sql.HealthCheck == nil || !strings.Contains(strings.Join(sql.HealthCheck.Test, " "), "/opt/mssql-tools18/bin/sqlcmd") ||
		!strings.Contains(strings.Join(sql.HealthCheck.Test, " "), " -C ") {
		t.Errorf("sqlserver health check %v, want /opt/mssql-tools18/bin/sqlcmd … -C (it encrypts, and the certificate is the container's own)", sql.HealthCheck)
	}
	for _, s := range []types.ServiceConfig{sb, app} {
		if d := s.DependsOn["sqlserver"]; d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s depends on sqlserver with %q, want %s", s.Name, d.Condition, types.ServiceConditionHealthy)
		}
	}
	for _, k := range []string{"ACCEPT_EULA", "SQL_SERVER", "MSSQL_SA_PASSWORD"} {
		if v := sb.Environment[k]; v == nil || *v == "" {
			t.Errorf("servicebus lacks %s", k)
		}
	}
	if v := sb.Environment["SQL_SERVER"]; v == nil || *v != "sqlserver" {
		t.Errorf("the emulator's SQL_SERVER is %v, want the sqlserver service", v)
	}
	config := filepath.Join(repoRoot(t), ".devcontainer", "servicebus", "Config.json")
	mounted := slices.ContainsFunc(sb.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == config && v.Target == "/ServiceBus_Emulator/ConfigFiles/Config.json"
	})
	if !mounted {
		t.Errorf("servicebus volumes %+v: want servicebus/Config.json at /ServiceBus_Emulator/ConfigFiles/Config.json", sb.Volumes)
	}
	for _, img := range []string{app.Image, sql.Image, sb.Image} {
		if !strings.Contains(img, ":") {
			t.Errorf("image %s has no tag", img)
		}
	}
}

// devcontainer.json parses as JSON with comments and points at a real
// compose service; it forwards Dropoff's port and runs a script that exists.
func TestDevcontainerJSON(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, ".devcontainer", "devcontainer.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := hujson.Parse(raw)
	if err != nil {
		t.Fatalf("devcontainer.json: %v", err)
	}
	v.Standardize()
	var dc struct {
		DockerComposeFile string         `json:"dockerComposeFile"`
		Service           string         `json:"service"`
		RunServices       []string       `json:"runServices"`
		WorkspaceFolder   string         `json:"workspaceFolder"`
		Features          map[string]any `json:"features"`
		ForwardPorts      []int          `json:"forwardPorts"`
		PostCreateCommand string         `json:"postCreateCommand"`
	}
	if err := json.Unmarshal(v.Pack(), &dc); err != nil {
		t.Fatalf("devcontainer.json: %v", err)
	}
	if dc.DockerComposeFile != "compose.yaml" {
		t.Errorf("dockerComposeFile %q, want compose.yaml", dc.DockerComposeFile)
	}
	p := loadCompose(t)
	for _, s := range append([]string{dc.Service}, dc.RunServices...) {
		service(t, p, s)
	}
	if !slices.Contains(dc.ForwardPorts, 8080) {
		t.Errorf("forwardPorts %v, want Dropoff's 8080 (Codespaces forwards these, not compose ports)", dc.ForwardPorts)
	}
	for _, f := range []string{"ghcr.io/devcontainers/features/azure-cli:1", "ghcr.io/azure/azure-dev/azd:0"} {
		if _, ok := dc.Features[f]; !ok {
			t.Errorf("features lack %s: the devcontainer must be able to azd up", f)
		}
	}
	script := strings.TrimPrefix(dc.PostCreateCommand, "bash ")
	if info, err := os.Stat(filepath.Join(root, script)); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("postCreateCommand %q: %v (want an executable script)", dc.PostCreateCommand, err)
	}
	body, _ := os.ReadFile(filepath.Join(root, script))
	for _, step := range []string{"dropoff createdb", "dropoff migrate"} {
		if !strings.Contains(string(body), step) {
			t.Errorf("%s does not run %s", script, step)
		}
	}
}
