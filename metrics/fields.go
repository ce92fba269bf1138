package metrics

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// counterFields are the unsigned counters of a stats struct type, found
// once by reflection so that a counter added to the struct becomes a label
// value of its metric without a change here. Nested structs contribute
// their fields under the outer field's name; a map[string]uint64 field
// contributes one series per key, read when values are read.
type counterFields struct {
	typ    reflect.Type
	fields []counterField
	maps   []counterField
}

type counterField struct {
	label string
	index []int
}

// newCounterFields walks t (a struct type), leaving out the top-level
// fields named in skip. It panics for a type that is not a struct: a
// programming error at set-up.
func newCounterFields(t reflect.Type, skip ...string) *counterFields {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("metrics: counters of %v, not a struct", t))
	}
	c := &counterFields{typ: t}
	c.walk(t, nil, "", skip)
	return c
}

func (c *counterFields) walk(t reflect.Type, index []int, prefix string, skip []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || slices.Contains(skip, f.Name) {
			continue
		}
		idx := append(slices.Clone(index), i)
		label := prefix + snake(f.Name)
		switch f.Type.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			c.fields = append(c.fields, counterField{label, idx})
		case reflect.Struct:
			c.walk(f.Type, idx, label+"_", nil)
		case reflect.Map:
			if f.Type.Key().Kind() == reflect.String && isUnsigned(f.Type.Elem().Kind()) {
				c.maps = append(c.maps, counterField{label, idx})
			}
		}
	}
}

func isUnsigned(k reflect.Kind) bool {
	switch k {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// labels are the fixed label values, in the order values reports them.
func (c *counterFields) labels() []string {
	out := make([]string, len(c.fields))
	for i, f := range c.fields {
		out[i] = f.label
	}
	return out
}

// names are the Go names of the top-level fields walked (a nested
// struct's name once).
func (c *counterFields) names() []string {
	var out []string
	for _, f := range append(slices.Clone(c.fields), c.maps...) {
		if n := c.typ.Field(f.index[0]).Name; !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// values reads v (a value of the walked type) into a labelled list: the
// fixed fields in order, then each map's keys, sorted, as "field/key".
func (c *counterFields) values(v any, into []labelled) []labelled {
	rv := reflect.ValueOf(v)
	if rv.Type() != c.typ {
		panic(fmt.Sprintf("metrics: counters of %v read from %v", c.typ, rv.Type()))
	}
	for _, f := range c.fields {
		into = append(into, labelled{f.label, float64(rv.FieldByIndex(f.index).Uint())})
	}
	for _, f := range c.maps {
		m := rv.FieldByIndex(f.index)
		keys := make([]string, 0, m.Len())
		for _, k := range m.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		for _, k := range keys {
			into = append(into, labelled{f.label + "/" + k, float64(m.MapIndex(reflect.ValueOf(k).Convert(m.Type().Key())).Uint())})
		}
	}
	return into
}

// labelled is one series of a counter vector.
type labelled struct {
	label string
	value float64
}

// snake turns a Go field name into a label value: ForgedSource ->
// forged_source, UDPBytes -> udp_bytes.
func snake(name string) string {
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
