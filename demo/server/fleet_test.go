package main

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The Fleet example in docs/ must describe this server: its environment
// variables are real flags with valid values, its container port is the
// port the server is told, its player capacity is the server's, and the
// health settings leave room for the server's pings.
func TestFleetManifestMatchesTheServer(t *testing.T) {
	data, err := os.ReadFile("../../docs/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fleet struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Template struct {
				Spec struct {
					Ports []struct {
						ContainerPort int    `yaml:"containerPort"`
						Protocol      string `yaml:"protocol"`
					} `yaml:"ports"`
					Health struct {
						PeriodSeconds    int `yaml:"periodSeconds"`
						FailureThreshold int `yaml:"failureThreshold"`
					} `yaml:"health"`
					Players struct {
						InitialCapacity int `yaml:"initialCapacity"`
					} `yaml:"players"`
					Template struct {
						Spec struct {
							Grace      int `yaml:"terminationGracePeriodSeconds"`
							Containers []struct {
								Args []string `yaml:"args"`
								Env  []struct {
									Name  string `yaml:"name"`
									Value string `yaml:"value"`
								} `yaml:"env"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &fleet); err != nil {
		t.Fatal(err)
	}
	if fleet.APIVersion != "agones.dev/v1" || fleet.Kind != "Fleet" {
		t.Fatalf("%s %s, want an agones.dev/v1 Fleet", fleet.APIVersion, fleet.Kind)
	}
	gs := fleet.Spec.Template.Spec
	if len(gs.Ports) != 1 || gs.Ports[0].Protocol != "UDP" || len(gs.Template.Spec.Containers) != 1 {
		t.Fatalf("want one UDP port and one container: %+v", gs)
	}
	c := gs.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	// The manifest's settings parse as the server's flags and environment.
	values := parseOnly(t, c.Args, env)
	if got := values["port"]; got != strconv.Itoa(gs.Ports[0].ContainerPort) {
		t.Errorf("server port %s, container port %d", got, gs.Ports[0].ContainerPort)
	}
	if got := values["max-clients"]; got != strconv.Itoa(gs.Players.InitialCapacity) {
		t.Errorf("server -max-clients %s, fleet player capacity %d", got, gs.Players.InitialCapacity)
	}
	if values["agones"] != "true" {
		t.Error("the fleet's server does not enable Agones")
	}
	health, _ := time.ParseDuration(values["agones-health"])
	if period := time.Duration(gs.Health.PeriodSeconds) * time.Second; health <= 0 || health >= period {
		t.Errorf("server pings every %v, the fleet's health period is %v", health, period)
	}
	drain, _ := time.ParseDuration(values["drain-timeout"])
	if grace := time.Duration(gs.Template.Spec.Grace) * time.Second; grace <= drain {
		t.Errorf("termination grace %v does not cover the drain timeout %v", grace, drain)
	}
}

// parseOnly reads the server's configuration from args and env without
// starting it, and returns every flag's value.
func parseOnly(t *testing.T, args []string, env map[string]string) map[string]string {
	t.Helper()
	values := map[string]string{}
	err := run(t.Context(), args, func(k string) string { return env[k] }, io.Discard, hooks{
		parsed: func(name, value string) { values[name] = value },
	})
	if !errors.Is(err, errParsedOnly) {
		t.Fatalf("the manifest's configuration: %v", err)
	}
	for name := range env {
		if !strings.HasPrefix(name, envPrefix) {
			continue
		}
		flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix), "_", "-"))
		if _, ok := values[flagName]; !ok {
			t.Errorf("%s names no flag", name)
		}
	}
	return values
}
