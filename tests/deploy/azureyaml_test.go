package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// azureYAML is what the tests read of azure.yaml (azd's schema v1.0).
type azureYAML struct {
	Name     string `yaml:"name"`
	Metadata struct {
		Template string `yaml:"template"`
	} `yaml:"metadata"`
	Infra struct {
		Provider string `yaml:"provider"`
		Path     string `yaml:"path"`
		Module   string `yaml:"module"`
	} `yaml:"infra"`
	Services map[string]struct {
		Project  string `yaml:"project"`
		Host     string `yaml:"host"`
		Language string `yaml:"language"`
		Image    string `yaml:"image"`
		Docker   struct {
			Path        string `yaml:"path"`
			RemoteBuild bool   `yaml:"remoteBuild"`
		} `yaml:"docker"`
	} `yaml:"services"`
	Hooks map[string]struct {
		Posix   struct{ Shell, Run string } `yaml:"posix"`
		Windows struct{ Shell, Run string } `yaml:"windows"`
	} `yaml:"hooks"`
}

func readAzureYAML(t *testing.T) azureYAML {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var y azureYAML
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true) // a misspelt key fails here, as azd's schema would
	if err := dec.Decode(&y); err != nil {
		t.Fatalf("azure.yaml: %v", err)
	}
	return y
}

// azure.yaml builds every service from the one Dockerfile in the registry
// and points azd at bicep/main.bicep.
func TestAzureYAML(t *testing.T) {
	y := readAzureYAML(t)
	if y.Name == "" {
		t.Error("azure.yaml has no name (the one required key)")
	}
	if y.Infra.Provider != "bicep" || y.Infra.Path != "bicep" || y.Infra.Module != "main" {
		t.Errorf("infra = %+v, want bicep, bicep, main", y.Infra)
	}
	root := repoRoot(t)
	for name, s := range y.Services {
		if s.Host != "containerapp" || s.Language != "docker" || s.Image != "" {
			t.Errorf("service %s: host %q language %q image %q, want containerapp, docker, no image", name, s.Host, s.Language, s.Image)
		}
		if s.Docker.Path != "Dockerfile" || !s.Docker.RemoteBuild || s.Project != "." {
			t.Errorf("service %s: %+v from %q, want the root Dockerfile built remotely", name, s.Docker, s.Project)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "Dockerfile")); err != nil {
		t.Error(err)
	}
	hook, ok := y.Hooks["postdeploy"]
	if !ok {
		t.Fatal("azure.yaml has no postdeploy hook: nothing would run dbinit")
	}
	for _, h := range []struct{ shell, run, want string }{{hook.Posix.Shell, hook.Posix.Run, "sh"}, {hook.Windows.Shell, hook.Windows.Run, "pwsh"}} {
		if h.shell != h.want {
			t.Errorf("postdeploy hook shell %q, want %s", h.shell, h.want)
		}
		info, err := os.Stat(filepath.Join(root, filepath.FromSlash(h.run)))
		if err != nil {
			t.Errorf("postdeploy hook %s: %v", h.run, err)
		} else if h.want == "sh" && info.Mode()&0o111 == 0 {
			t.Errorf("postdeploy hook %s is not executable", h.run)
		}
	}
}

// Every azd service is a resource the templates tag with its name, and the
// parameters file tells Bicep whether each one exists, so that provisioning
// keeps the image azd deployed.
func TestAzureYAMLMatchesBicep(t *testing.T) {
	y := readAzureYAML(t)
	ts := loadTemplates(t)
	var tagged []string
	for _, m := range ts.calls(t, "modules/app.bicep") {
		svc, _ := str(m.Param("serviceName"))
		tagged = append(tagged, svc)
	}
	tagged = append(tagged, "dbinit") // modules/dbinit.bicep tags its job literally (TestBicepDBInitJob)
	var services []string
	for name := range y.Services {
		services = append(services, name)
	}
	slices.Sort(tagged)
	slices.Sort(services)
	if !slices.Equal(services, tagged) {
		t.Errorf("azure.yaml services %v, tagged in Bicep %v", services, tagged)
	}

	var params struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "bicep", "main.parameters.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &params); err != nil {
		t.Fatalf("main.parameters.json: %v", err)
	}
	main := ts.file(t, "main.bicep")
	for _, svc := range services {
		param := camel(svc) + "Exists"
		env := "SERVICE_" + strings.ToUpper(strings.ReplaceAll(svc, "-", "_")) + "_RESOURCE_EXISTS"
		if got := params.Parameters[param].Value; got != "${"+env+"=false}" {
			t.Errorf("main.parameters.json %s = %v, want ${%s=false}", param, got, env)
		}
		if main.Param(param) == nil {
			t.Errorf("main.bicep has no parameter %s", param)
		}
	}
	for _, p := range []string{"environmentName", "location"} {
		if _, ok := params.Parameters[p]; !ok || main.Param(p) == nil {
			t.Errorf("parameter %s is missing from main.bicep or main.parameters.json", p)
		}
	}
	if main.Output("AZURE_CONTAINER_REGISTRY_ENDPOINT") == nil {
		t.Error("main.bicep has no AZURE_CONTAINER_REGISTRY_ENDPOINT output: azd would not know where to push")
	}
}

// camel turns an azd service name into the parameter stem: query-api → queryApi.
func camel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}
