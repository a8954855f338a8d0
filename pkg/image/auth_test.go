package image_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/apkit-dev/apkit/pkg/image"
)

func TestKeychainGitLab(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	tests := []struct {
		name     string
		gl       *image.GitLab
		registry string
		want     authn.AuthConfig
	}{
		{"user and password", &image.GitLab{Registry: "registry.example.com", User: "u", Password: "p", JobToken: "tok"},
			"registry.example.com", authn.AuthConfig{Username: "u", Password: "p"}},
		{"job token", &image.GitLab{Registry: "registry.example.com", JobToken: "tok"},
			"registry.example.com", authn.AuthConfig{Username: "gitlab-ci-token", Password: "tok"}},
		{"another registry", &image.GitLab{Registry: "registry.example.com", JobToken: "tok"},
			"other.example.com", authn.AuthConfig{}},
		{"no gitlab", nil, "registry.example.com", authn.AuthConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := name.NewRegistry(tt.registry)
			if err != nil {
				t.Fatal(err)
			}
			a, err := image.Keychain(tt.gl).Resolve(reg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}
