package engine

// Merge deep-merges newer into older and returns the result; neither input is
// modified. Rules (Keptn's, with Slipway decision 4):
//   - maps merge recursively;
//   - arrays: newer items are prepended to older items (Keptn keeps both);
//   - any other value, including numbers and booleans, is replaced by the
//     newer value (Keptn kept old numbers and booleans; Slipway does not);
//   - a nil newer value blanks an older string to "" and leaves others alone.
func Merge(older, newer map[string]any) map[string]any {
	out := make(map[string]any, len(older)+len(newer))
	for k, v := range older {
		out[k] = deepCopy(v)
	}
	for k, nv := range newer {
		ov, ok := out[k]
		if !ok {
			out[k] = deepCopy(nv)
			continue
		}
		out[k] = mergeValue(ov, nv)
	}
	return out
}

func mergeValue(ov, nv any) any {
	switch n := nv.(type) {
	case nil:
		if _, ok := ov.(string); ok {
			return ""
		}
		return ov
	case map[string]any:
		if o, ok := ov.(map[string]any); ok {
			return Merge(o, n)
		}
	case []any:
		if o, ok := ov.([]any); ok {
			res := make([]any, 0, len(n)+len(o))
			for _, v := range n {
				res = append(res, deepCopy(v))
			}
			for _, v := range o {
				res = append(res, deepCopy(v))
			}
			return res
		}
	}
	return deepCopy(nv)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
