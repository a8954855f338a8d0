// Package term holds apkit's terminal streams: where results and messages go,
// whether they are terminals, whether colour is on, and GitLab CI sections.
package term
