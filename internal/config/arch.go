package config

import "runtime"

func numCPU() int { return runtime.NumCPU() }
