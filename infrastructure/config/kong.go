package config

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// NewParser builds the kong parser of grammar, a struct that embeds Config
// (or is one), with what every parser of the settings needs: the variables
// are read through getenv (not the process environment, so that run and
// tests can pass their own), an empty variable counts as unset, durations
// and counts are never negative, and secrets never come from the command
// line.
func NewParser(grammar any, getenv func(string) string, options ...kong.Option) (*kong.Kong, error) {
	options = append([]kong.Option{
		kong.Resolvers(environment(getenv)),
		kong.TypeMapper(reflect.TypeFor[time.Duration](), kong.MapperFunc(decodeDuration)),
		kong.KindMapper(reflect.Int, kong.MapperFunc(decodeCount)),
		kong.TypeMapper(reflect.TypeFor[Secret](), kong.MapperFunc(decodeSecret)),
		kong.NamedMapper("cidrs", kong.MapperFunc(decodeCIDRs)),
		kong.NamedMapper("fields", kong.MapperFunc(decodeFields)),
	}, options...)
	k, err := kong.New(grammar, options...)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return k, moveVariablesToResolver(k)
}

// moveVariablesToResolver takes the variables out of kong's own lookup,
// which reads the process environment, and leaves them on Flag.Envs for the
// environment resolver and the usage. It runs after kong.New, whose last
// step copies Tag.Envs to Flag.Envs.
func moveVariablesToResolver(k *kong.Kong) error {
	return kong.Visit(k.Model, func(node kong.Visitable, next kong.Next) error {
		if f, ok := node.(*kong.Flag); ok && len(f.Tag.Envs) > 0 {
			f.Envs = f.Tag.Envs
			f.Tag.Envs = nil
		}
		return next(nil)
	})
}

// fromEnvironment marks a value the environment resolver supplied, so that
// decodeSecret can tell it from one typed on the command line.
type fromEnvironment string

// environment resolves the flags that were not given on the command line
// from their variables; the first non-empty one wins.
func environment(getenv func(string) string) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
		for _, name := range f.Envs {
			if v := getenv(name); v != "" {
				if f.Target.Type() == reflect.TypeFor[Secret]() {
					return fromEnvironment(v), nil
				}
				return v, nil
			}
		}
		return nil, nil
	})
}

// text pops the next value as a string.
func text(ctx *kong.DecodeContext) (string, error) {
	t, err := ctx.Scan.PopValue("value")
	if err != nil {
		return "", err
	}
	if s, ok := t.Value.(string); ok {
		return strings.TrimSpace(s), nil
	}
	return strings.TrimSpace(fmt.Sprint(t.Value)), nil
}

func decodeDuration(ctx *kong.DecodeContext, target reflect.Value) error {
	s, err := text(ctx)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration such as 15m", s)
	}
	target.Set(reflect.ValueOf(d))
	return nil
}

func decodeCount(ctx *kong.DecodeContext, target reflect.Value) error {
	s, err := text(ctx)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a non-negative integer", s)
	}
	target.SetInt(int64(n))
	return nil
}

func decodeSecret(ctx *kong.DecodeContext, target reflect.Value) error {
	t, err := ctx.Scan.PopValue("secret")
	if err != nil {
		return err
	}
	v, ok := t.Value.(fromEnvironment)
	if !ok {
		return fmt.Errorf("not taken from the command line, where other users can read it: set %s or --%s-file",
			strings.Join(ctx.Value.Flag.Envs, " or "), ctx.Value.Name)
	}
	target.Set(reflect.ValueOf(Secret(v)))
	return nil
}

func decodeCIDRs(ctx *kong.DecodeContext, target reflect.Value) error {
	s, err := text(ctx)
	if err != nil {
		return err
	}
	for _, cidr := range strings.Split(s, ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", cidr)
		}
		target.Set(reflect.Append(target, reflect.ValueOf(n)))
	}
	return nil
}

func decodeFields(ctx *kong.DecodeContext, target reflect.Value) error {
	s, err := text(ctx)
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(s) {
		target.Set(reflect.Append(target, reflect.ValueOf(f)))
	}
	return nil
}
