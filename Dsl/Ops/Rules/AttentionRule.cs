using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary>
    /// <c>attention(heads, causal=false, bias=true)</c>: multi-head self-attention, [B, T, d] → [B, T, d], d divisible by heads.
    /// nn.MultiheadAttention's layout: in_proj_weight [3d, d], in_proj_bias [3d], out_proj.weight [d, d], out_proj.bias [d].
    /// </summary>
    internal static class AttentionRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            Signature.Int("heads"),
            Signature.Bool("causal", false),
            Signature.Bool("bias", true));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, d]")) return null;
            if (!c.RequireKnown(0, 2, "the model dimension (it sizes the weights)")) return null;
            Dim d = c.InputShape[2], heads = c.IntDim("heads");
            if (d.Value % heads.Value != 0)
            {
                c.Diagnostics.ReportNotDivisible(c.SpanOf("heads"), c.Name, c.InputName, heads, d);
                return null;
            }
            bool bias = c.Bool("bias");
            c.Attr("heads", heads.Value);
            c.Attr("causal", c.Bool("causal"));
            c.Attr("bias", bias);
            Dim d3 = Dim.Known(checked(3 * d.Value), "3*" + (d.Label ?? d.ToExpression()));
            c.AddParameter("in_proj_weight", new Shape(d3, d), InitKind.XavierUniform, d.Value, d3.Value);
            if (bias) c.AddParameter("in_proj_bias", new Shape(d3), InitKind.Zeros, d.Value, d3.Value);
            c.AddParameter("out_proj.weight", new Shape(d, d), InitKind.XavierUniform, d.Value, d.Value);
            if (bias) c.AddParameter("out_proj.bias", new Shape(d), InitKind.Zeros, d.Value, d.Value);
            return c.InputShape;
        }
    }
}
