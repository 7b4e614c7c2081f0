using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary><c>dense(units, bias=true, tie=none)</c>; <see cref="Tied"/> when the weight is another layer's.</summary>
    public sealed record DenseAttributes(long Units, bool Bias, bool Tied) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            Tied ? new[] { Pair("units", Units), Pair("bias", Bias), Pair("tied", true) } : new[] { Pair("units", Units), Pair("bias", Bias) };
    }

    /// <summary>
    /// <c>dense(units, bias=true, tie=none)</c> (alias <c>linear</c>): [..., in] → [..., units]; weight [units, in] (PyTorch
    /// layout), bias [units]; <c>tie=layer.weight</c> reads another layer's weight of the same shape. Planned as a head:
    /// one GEMM forward, two backward (<see cref="HeadRule{T}"/>), the bias fused with the activation after it. Kernels:
    /// <c>Runtime/Cpu/Sgemm*.cs</c>, cuBLAS.
    /// </summary>
    internal sealed class Dense : HeadRule<DenseAttributes>
    {
        public static readonly Dense Rule = new Dense();

        private Dense()
            : base("dense", OpKind.Dense, new Signature(
                Signature.Tensor(),
                Signature.Int("units"),
                Signature.Bool("bias", true),
                new ParamSpec("tie", ParamKind.ParamRef, optional: true)))
        {
        }

        public override IReadOnlyList<string> Aliases { get; } = new[] { "linear" };

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireMinRank(0, 1, "[..., in]")) return null;
            if (!c.RequireKnown(0, -1, "the last dimension (it sizes the weight)")) return null;
            Dim input = c.InputShape.Last;
            Dim units = c.IntDim("units");
            bool bias = c.Bool("bias");

            var weightShape = new Shape(units, input);
            var tied = c.Tie("tie");
            if (tied is not null)
            {
                if (!tied.Shape.Equals(weightShape))
                {
                    c.Diagnostics.ReportTiedShapeMismatch(c.SpanOf("tie"), c.Name, tied.Name, tied.Shape, weightShape);
                    return null;
                }
                c.UseParameter(tied);
            }
            else
            {
                c.AddParameter("weight", weightShape, InitKind.KaimingUniform, input.Value, units.Value);
            }
            c.SetAttributes(new DenseAttributes(units.Value, bias, tied is not null));
            if (bias) c.AddParameter("bias", new Shape(units), InitKind.Zeros, input.Value, units.Value);
            return c.InputShape.WithLast(units);
        }

        public override string ProductName => "dense";

        // y = x·weightᵀ + bias;  dweight (+)= dyᵀ·x,  dx (+)= dy·weight,  dbias (+)= Σ_rows dy
        public override ParameterInfo Weight(OpNode op) => op.Parameters.First(p => p.Role == "weight");

        public override ParameterInfo? Bias(OpNode op) => OwnedOrNull(op, "bias");

        // 2·in per output element (+ the bias); the backward dW always, dX unless the input is a model input
        public override OpCost Cost(OpNode op, CostContext c)
        {
            checked
            {
                long output = c.Output(op), inFeatures = c.Size(op.Inputs[0].Shape.Last);
                bool inputGradient = !c.IsModelInput(op.Inputs[0]);
                return new OpCost(2 * output * inFeatures + output, (inputGradient ? 2 : 1) * (2 * output * inFeatures) + output);
            }
        }

        /// <summary>Rank 2: <c>Gemm(transB=1)</c>; any other rank: <c>MatMul</c> by the weight transposed once, then <c>Add</c>.</summary>
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            var bias = op.Parameters.FirstOrDefault(p => p.Role == "bias" && p.LayerPath == op.LayerPath && p.Shape.Rank == 1);
            var weight = op.Parameters.FirstOrDefault(p => p != bias && p.Shape.Rank == 2)
                ?? throw new System.NotSupportedException($"dense '{op.LayerPath}' has no weight.");
            if (op.Inputs[0].Shape.Rank == 2)
            {
                string w = o.Use(weight);
                var inputs = bias is null ? new[] { o.Input(0), w } : new[] { o.Input(0), w, o.Use(bias) };
                o.Emit("Gemm", inputs, output, OnnxAttribute.Int("transB", 1));
                return;
            }

            // [..., in] · Wᵀ: MatMul broadcasts over the leading axes but has no transpose flag.
            string wt = o.Transposed(weight);
            if (bias is null)
            {
                o.Emit("MatMul", new[] { o.Input(0), wt }, output);
                return;
            }
            string product = o.Fresh(op.Output.Name + "/matmul");
            o.Emit("MatMul", new[] { o.Input(0), wt }, product);
            o.Emit("Add", new[] { product, o.Use(bias) }, output);
        }
    }
}
