using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary>relu, gelu, sigmoid, tanh, silu: elementwise on an f32 tensor, same shape, no parameters.</summary>
    internal static class ActivationRules
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor());

        public static Shape? Apply(OpContext c) => c.RequireDType(0, DType.F32) ? c.InputShape : null;
    }

    /// <summary><c>dropout(p)</c>, 0 ≤ p &lt; 1: same shape; identity at inference.</summary>
    internal static class DropoutRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            Signature.Real("p", null, 0, 1, maxExclusive: true));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            c.Attr("p", c.Real("p"));
            return c.InputShape;
        }
    }

    /// <summary><c>softmax(axis=-1)</c>: same shape, normalised along one axis.</summary>
    internal static class SoftmaxRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            Signature.Int("axis", -1, min: null));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            if (!Axes.TryNormalize(c, "axis", c.InputShape.Rank, out int axis)) return null;
            c.Attr("axis", axis);
            return c.InputShape;
        }
    }

    /// <summary><c>layer_norm(eps=1e-5)</c>: normalised over the last axis; weight and bias [d].</summary>
    internal static class LayerNormRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            new ParamSpec("eps", ParamKind.Real, 1e-5, min: 0));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireMinRank(0, 1, "[..., d]")) return null;
            if (!c.RequireKnown(0, -1, "the last dimension (it sizes the weight)")) return null;
            Dim d = c.InputShape.Last;
            c.Attr("eps", c.Real("eps"));
            c.AddParameter("weight", new Shape(d), IR.InitKind.Ones, d.Value, d.Value);
            c.AddParameter("bias", new Shape(d), IR.InitKind.Zeros, d.Value, d.Value);
            return c.InputShape;
        }
    }

    /// <summary>Axis arguments: negative counts from the end; out of range is MDL0309.</summary>
    internal static class Axes
    {
        public static bool TryNormalize(OpContext c, string name, int rank, out int axis)
        {
            long given = c.Int(name);
            axis = (int)(given < 0 ? given + rank : given);
            if (given >= -rank && given < rank) return true;
            c.Diagnostics.ReportAxisOutOfRange(c.SpanOf(name), c.Name, name, given, rank, c.InputName);
            return false;
        }
    }
}
