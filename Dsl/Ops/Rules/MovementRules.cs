using System.Collections.Generic;
using System.Linq;
using ModelDsl.Binding;
using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary><c>flatten(start=1)</c>: [N, a, b, ...] → [N, a·b·...] (axes from <c>start</c> merged).</summary>
    internal static class FlattenRule
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor(), Signature.Int("start", 1, min: null));

        public static Shape? Apply(OpContext c)
        {
            int rank = c.InputShape.Rank;
            if (!Axes.TryNormalize(c, "start", rank, out int start)) return null;
            c.Attr("start", start);
            var dims = c.InputShape.Dims.Take(start).ToList();
            dims.Add(c.InputShape.Dims.Skip(start).Aggregate(Dim.Known(1), (a, d) => a.Multiply(d)));
            return new Shape(dims);
        }
    }

    /// <summary><c>reshape([B, T, heads, d/heads])</c>: same element count; one entry may be -1.</summary>
    internal static class ReshapeRule
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor(), new ParamSpec("shape", ParamKind.List));

        public static Shape? Apply(OpContext c)
        {
            var list = c.List("shape");
            if (list is null) return null;
            var dims = new List<Dim?>();
            int inferred = -1;
            for (int i = 0; i < list.Elements.Count; i++)
            {
                switch (list.Elements[i])
                {
                    case IntValue iv when iv.Integer == -1 && inferred < 0:
                        inferred = i;
                        dims.Add(null);
                        break;
                    case IntValue iv when iv.Integer >= 1:
                        dims.Add(iv.ToDim());
                        break;
                    case DimValue dv:
                        dims.Add(dv.Dim);
                        break;
                    default:
                        c.Diagnostics.ReportInvalidDimension(list.Spans[i], "reshape entries must be positive dimensions, with at most one -1");
                        return null;
                }
            }
            Dim total = c.InputShape.ElementCount();
            Dim known = dims.Where(d => d is not null).Aggregate(Dim.Known(1), (a, d) => a.Multiply(d!));
            if (inferred >= 0)
            {
                if (!total.TryDivide(known, out Dim rest))
                {
                    c.Diagnostics.ReportReshapeMismatch(c.SpanOf("shape"), c.InputName, c.InputShape, total, "[" + string.Join(", ", dims.Select(d => d?.ToString() ?? "-1")) + "]", known, true);
                    return null;
                }
                dims[inferred] = rest;
            }
            else if (!known.Equals(total))
            {
                c.Diagnostics.ReportReshapeMismatch(c.SpanOf("shape"), c.InputName, c.InputShape, total, "[" + string.Join(", ", dims.Select(d => d!.ToString())) + "]", known, false);
                return null;
            }
            var shape = new Shape(dims.Select(d => d!).ToArray());
            c.Attr("shape", shape.Dims.Select(d => d.IsKnown ? d.Value : -1L).ToList());
            return shape;
        }
    }

    /// <summary><c>concat(a, b, ..., axis=-1)</c>: shapes equal except along <c>axis</c>, which adds up.</summary>
    internal static class ConcatRule
    {
        public static readonly Signature Signature = new Signature(new ParamSpec("x", ParamKind.Tensors), Signature.Int("axis", -1, min: null));

        public static Shape? Apply(OpContext c)
        {
            var first = c.InputShape;
            if (!Axes.TryNormalize(c, "axis", first.Rank, out int axis)) return null;
            Dim sum = first[axis];
            for (int i = 1; i < c.Inputs.Count; i++)
            {
                var s = c.Inputs[i].Shape;
                bool same = s.Rank == first.Rank && Enumerable.Range(0, s.Rank).All(a => a == axis || s[a].Equals(first[a]));
                if (!same || c.Inputs[i].DType != c.Input.DType)
                {
                    c.Diagnostics.ReportConcatMismatch(c.InputSpans[i], c.InputNames[i], c.Inputs[i].DType, s, c.InputName, c.Input.DType, first, axis);
                    return null;
                }
                if (!sum.IsKnown || !s[axis].IsKnown)
                {
                    c.Diagnostics.ReportSymbolicNotAllowed(c.InputSpans[i], c.Name, c.InputNames[i], "the concatenated axis", s[axis], s);
                    return null;
                }
                sum = Dim.Known(checked(sum.Value + s[axis].Value));
            }
            c.Attr("axis", axis);
            var dims = first.Dims.ToArray();
            dims[axis] = sum;
            return new Shape(dims);
        }
    }
}
