using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary>
    /// <c>lstm(hidden, return_sequences=false)</c>: [B, T, in] → [B, hidden] (or [B, T, hidden]).
    /// PyTorch's layout, gates stacked i, f, g, o: weight_ih [4h, in], weight_hh [4h, h], bias_ih [4h], bias_hh [4h].
    /// </summary>
    internal static class LstmRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            Signature.Int("hidden"),
            Signature.Bool("return_sequences", false));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, in]")) return null;
            if (!c.RequireKnown(0, 2, "the feature dimension (it sizes the weights)")) return null;
            Dim h = c.IntDim("hidden"), input = c.InputShape[2];
            bool sequences = c.Bool("return_sequences");
            c.Attr("hidden", h.Value);
            c.Attr("return_sequences", sequences);
            Dim gates = Dim.Known(checked(4 * h.Value), "4*" + (h.Label ?? h.ToExpression()));
            c.AddParameter("weight_ih", new Shape(gates, input), InitKind.UniformInvSqrtHidden, input.Value, gates.Value);
            c.AddParameter("weight_hh", new Shape(gates, h), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            c.AddParameter("bias_ih", new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            c.AddParameter("bias_hh", new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            return sequences ? new Shape(c.InputShape[0], c.InputShape[1], h) : new Shape(c.InputShape[0], h);
        }
    }
}
