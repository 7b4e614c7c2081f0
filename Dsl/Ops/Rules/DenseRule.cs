using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary><c>dense(units, bias=true, tie=none)</c>: [..., in] → [..., units]; weight [units, in] (PyTorch layout), bias [units].</summary>
    internal static class DenseRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            Signature.Int("units"),
            Signature.Bool("bias", true),
            new ParamSpec("tie", ParamKind.ParamRef, optional: true));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireMinRank(0, 1, "[..., in]")) return null;
            if (!c.RequireKnown(0, -1, "the last dimension (it sizes the weight)")) return null;
            Dim input = c.InputShape.Last;
            Dim units = c.IntDim("units");
            bool bias = c.Bool("bias");
            c.Attr("units", units.Value);
            c.Attr("bias", bias);

            var weightShape = new Shape(units, input);
            var tied = c.Tie("tie");
            if (tied is not null)
            {
                if (!tied.Shape.Equals(weightShape))
                {
                    c.Diagnostics.ReportTiedShapeMismatch(c.SpanOf("tie"), c.Name, tied.Name, tied.Shape, weightShape);
                    return null;
                }
                c.Attr("tied", true);
                c.UseParameter(tied);
            }
            else
            {
                c.AddParameter("weight", weightShape, InitKind.KaimingUniform, input.Value, units.Value);
            }
            if (bias) c.AddParameter("bias", new Shape(units), InitKind.Zeros, input.Value, units.Value);
            return c.InputShape.WithLast(units);
        }
    }
}
