package config

import "github.com/alecthomas/kong"

// Load parses args (settings flags only) and the environment through
// getenv into a validated Config: what a command does with its grammar
// (NewParser, then Complete), for a grammar of settings alone.
func Load(args []string, getenv func(string) string) (Config, error) {
	var c Config
	k, err := NewParser(&c, getenv, kong.Name("gatehouse"), kong.NoDefaultHelp())
	if err != nil {
		return Config{}, err
	}
	if _, err := k.Parse(args); err != nil {
		return Config{}, err
	}
	return c.Complete()
}
