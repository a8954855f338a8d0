package image

import (
	"github.com/google/go-containerregistry/pkg/authn"
)

// GitLab holds the registry credentials GitLab CI gives a job
// (CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD, CI_JOB_TOKEN).
type GitLab struct {
	// Registry is the registry's host[:port] the credentials are for.
	Registry string
	// User and Password are the registry credentials; without them, the
	// job token logs in as gitlab-ci-token.
	User, Password string
	JobToken       string
}

// Keychain returns the credentials for a registry: GitLab's, for its
// registry, when gl gives some, then the docker config file's
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json). gl may be nil.
func Keychain(gl *GitLab) authn.Keychain {
	if gl == nil || gl.Registry == "" {
		return authn.DefaultKeychain
	}
	return authn.NewMultiKeychain(gitlabKeychain{*gl}, authn.DefaultKeychain)
}

type gitlabKeychain struct{ gl GitLab }

func (k gitlabKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.gl.Registry {
		return authn.Anonymous, nil
	}
	switch {
	case k.gl.User != "" && k.gl.Password != "":
		return &authn.Basic{Username: k.gl.User, Password: k.gl.Password}, nil
	case k.gl.JobToken != "":
		return &authn.Basic{Username: "gitlab-ci-token", Password: k.gl.JobToken}, nil
	}
	return authn.Anonymous, nil
}
