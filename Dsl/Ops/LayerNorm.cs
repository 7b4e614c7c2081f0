using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>layer_norm(eps=1e-5)</c>: the ε added to the variance.</summary>
    public sealed record LayerNormAttributes(double Eps) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("eps", Eps) };
    }

    /// <summary>
    /// <c>layer_norm(eps=1e-5)</c>: normalised over the last axis; weight and bias [d] (PyTorch's nn.LayerNorm).
    /// Kernels: <c>Runtime/Cpu/Layers/LayerNorm.cs</c>, <c>md_layer_norm_*</c> in the CUDA layer library (rows).
    /// </summary>
    internal sealed class LayerNorm : OpRule<LayerNormAttributes>
    {
        public static readonly LayerNorm Rule = new LayerNorm();

        private LayerNorm()
            : base("layer_norm", OpKind.LayerNorm, new Signature(Signature.Tensor(), new ParamSpec("eps", ParamKind.Real, 1e-5, min: 0)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireMinRank(0, 1, "[..., d]")) return null;
            if (!c.RequireKnown(0, -1, "the last dimension (it sizes the weight)")) return null;
            Dim d = c.InputShape.Last;
            c.SetAttributes(new LayerNormAttributes(c.Real("eps")));
            c.AddParameter("weight", new Shape(d), InitKind.Ones, d.Value, d.Value);
            c.AddParameter("bias", new Shape(d), InitKind.Zeros, d.Value, d.Value);
            return c.InputShape;
        }

        public override Planning Planning => Planning.Layer;

        // y = (x − mean)·rstd·weight + bias per row of the last axis; mean and rstd [rows] kept for the backward
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            var (rows, dim) = Matrix(shape);
            var leading = new Shape(shape.Dims.Take(shape.Rank - 1).ToArray());
            var mean = p.NewBuffer(op.Output.Name + ".mean", BufferKind.Saved, leading, DType.F32);
            var rstd = p.NewBuffer(op.Output.Name + ".rstd", BufferKind.Saved, leading, DType.F32);
            return new LayerNormKernel(p.KernelName("fwd", "layer_norm"), new[] { p.Origin(op) }, rows, dim.Value, (float)Attributes(op).Eps,
                p.Value(op.Inputs[0]), p.Parameter(Owned(op, "weight")), p.Parameter(Owned(op, "bias")), p.Value(op.Output), mean, rstd);
        }

        // x̂ = (x − mean)·rstd, dn = dy·weight:
        // dx (+)= rstd·(dn − mean(dn) − x̂·mean(dn·x̂)),  dweight (+)= Σ_rows dy·x̂,  dbias (+)= Σ_rows dy
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var norm = (LayerNormKernel)forward;
            var dx = InputGradient(p, op);
            var dw = ParameterGradient(p, op, "weight");
            var db = ParameterGradient(p, op, "bias");
            yield return new LayerNormBackwardKernel(p.KernelName("bwd", "layer_norm"), new[] { p.Origin(op) }, norm.Rows, norm.Dim, norm.Input, norm.Weight, norm.Mean, norm.Rstd,
                p.Gradient(op.Output), dx, dw, db);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            LayerNormKernel k => Does(
                $"{k.Output} = ({k.Input} − mean)·rstd·{k.Weight} + {k.Bias} over rows of {k.Dim}; {k.Mean} and {k.Rstd} kept for the backward",
                Call("LayerNorm", "Forward", Size(k.Rows), Int(k.Dim), Buffer(k.Input), Buffer(k.Weight), Buffer(k.Bias), Buffer(k.Output), Buffer(k.Mean), Buffer(k.Rstd), Float(k.Epsilon))),
            LayerNormBackwardKernel k => Does(
                Join($"{k.WeightGradient} Σ {k.OutputGradient}·x̂, {k.BiasGradient} Σ {k.OutputGradient}",
                    k.InputGradient is null ? null : F($", {k.InputGradient} rstd·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = {k.OutputGradient}·{k.Weight}")),
                Call("LayerNorm", "Backward", Size(k.Rows), Int(k.Dim), Buffer(k.Input), Buffer(k.Weight), Buffer(k.Mean), Buffer(k.Rstd), Buffer(k.OutputGradient),
                    Gradient(k.InputGradient), Gradient(k.WeightGradient), Gradient(k.BiasGradient),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false), Flag("accumulateParameterGradients", SameFlag(k, k.WeightGradient, k.BiasGradient)))),
            _ => null,
        };

        // mean, variance, normalise, scale and shift: ~8 per element; the backward's three row sums and the dx formula ~12
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 8, 12);

        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            string weight = o.Use(Owned(op, "weight"));
            string bias = o.Use(Owned(op, "bias"));
            o.Emit("LayerNormalization", new[] { o.Input(0), weight, bias }, output, OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", (float)Attributes(op).Eps));
        }
    }
}
