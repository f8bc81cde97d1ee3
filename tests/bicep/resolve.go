package bicep

// Resolve does the little evaluation tests need to read a template the way
// Azure would: a bare reference to a variable becomes the variable's value,
// and concat() of arrays and union() of objects are computed when every
// argument resolves to a literal. Anything else comes back as it is, so a
// test can still see, say, that a value is identities.outputs.workerId.
// Values inside objects and arrays are resolved too.
func (f *File) Resolve(v Value) Value {
	return f.resolve(v, map[string]bool{})
}

func (f *File) resolve(v Value, seen map[string]bool) Value {
	switch v := v.(type) {
	case *Expr:
		if root, path, ok := v.Ref(); ok && len(path) == 0 {
			if d := f.Var(root); d != nil && !seen[root] {
				seen[root] = true
				defer delete(seen, root)
				return f.resolve(d.Value, seen)
			}
		}
		if name, args, ok := v.Call(); ok {
			if r, ok := f.call(name, args, seen); ok {
				return r
			}
		}
		return v
	case *Array:
		out := &Array{Items: make([]Value, len(v.Items))}
		for i, it := range v.Items {
			out.Items[i] = f.resolve(it, seen)
		}
		return out
	case *Object:
		out := &Object{Properties: make([]Property, len(v.Properties))}
		for i, p := range v.Properties {
			out.Properties[i] = Property{Key: p.Key, Value: f.resolve(p.Value, seen)}
		}
		return out
	}
	return v
}

// call evaluates concat (of arrays) and union (of objects, later keys
// winning, as in Bicep's shallow union); false when it cannot.
func (f *File) call(name string, args []Value, seen map[string]bool) (Value, bool) {
	switch name {
	case "concat":
		out := &Array{}
		for _, a := range args {
			arr, ok := f.resolve(a, seen).(*Array)
			if !ok {
				return nil, false
			}
			out.Items = append(out.Items, arr.Items...)
		}
		return out, true
	case "union":
		out := &Object{}
		for _, a := range args {
			obj, ok := f.resolve(a, seen).(*Object)
			if !ok {
				return nil, false
			}
			for _, p := range obj.Properties {
				out.set(p)
			}
		}
		return out, true
	}
	return nil, false
}

func (o *Object) set(p Property) {
	for i := range o.Properties {
		if o.Properties[i].Key == p.Key {
			o.Properties[i] = p
			return
		}
	}
	o.Properties = append(o.Properties, p)
}
