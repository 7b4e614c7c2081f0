using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>batch_norm(momentum=0.1, eps=1e-5, affine=true)</c>, PyTorch's arguments and defaults.</summary>
    public sealed record BatchNormAttributes(double Momentum, double Eps, bool Affine) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            new[] { Pair("momentum", Momentum), Pair("eps", Eps), Pair("affine", Affine) };
    }

    /// <summary>
    /// <c>batch_norm(momentum=0.1, eps=1e-5, affine=true)</c>: one op for PyTorch's nn.BatchNorm1d over [B, C] and
    /// [B, C, L] and nn.BatchNorm2d over [N, C, H, W], chosen by the input's rank; statistics per channel (axis 1).
    /// Parameters <c>weight</c> (ones) and <c>bias</c> (zeros) [C] with affine; layer state (never trained, saved and
    /// exported) <c>running_mean</c> (zeros), <c>running_var</c> (ones) [C] and the counter <c>num_batches_tracked</c>.
    /// Training normalises with the batch's statistics and updates the running ones; inference reads the running ones.
    /// Kernels: <c>Runtime/Cpu/Layers/BatchNorm.cs</c>, <c>md_batch_norm_*</c> in the CUDA layer library (batchnorm.cuh).
    /// </summary>
    internal sealed class BatchNorm : OpRule<BatchNormAttributes>
    {
        public static readonly BatchNorm Rule = new BatchNorm();

        private BatchNorm()
            : base("batch_norm", OpKind.BatchNorm, new Signature(
                Signature.Tensor(),
                Signature.Real("momentum", 0.1, 0, 1),
                Signature.Real("eps", 1e-5, 0),
                Signature.Bool("affine", true)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            var shape = c.InputShape;
            if (!c.RequireDType(0, DType.F32)) return null;
            if (shape.Rank < 2 || shape.Rank > 4)
            {
                c.Diagnostics.ReportRankMismatch(c.InputSpan, c.Name, c.InputName, "2, 3 or 4", "([B, C], [B, C, L] or [N, C, H, W])", shape);
                return null;
            }
            if (!c.RequireKnown(0, 1, "the channel dimension (it sizes the weight and the running statistics)")) return null;
            Dim channels = shape[1];
            Dim values = Values(shape);
            if (values.IsKnown && values.Value == 1) c.Diagnostics.ReportOneValuePerChannel(c.InputSpan, c.Name, c.InputName, shape);
            bool affine = c.Bool("affine");
            c.SetAttributes(new BatchNormAttributes(c.Real("momentum"), c.Real("eps"), affine));
            if (affine)
            {
                c.AddParameter("weight", new Shape(channels), InitKind.Ones, channels.Value, channels.Value);
                c.AddParameter("bias", new Shape(channels), InitKind.Zeros, channels.Value, channels.Value);
            }
            c.AddState("running_mean", new Shape(channels), 0f);
            c.AddState("running_var", new Shape(channels), 1f);
            c.AddCounter("num_batches_tracked");
            return shape;
        }

        /// <summary>The values each channel's statistics cover: N·S (the batch times every axis after the channels).</summary>
        private static Dim Values(Shape shape)
        {
            Dim n = shape[0];
            for (int i = 2; i < shape.Rank; i++) n = n.Multiply(shape[i]);
            return n;
        }

        /// <summary>Positions per channel and sample: 1, L or H·W.</summary>
        private static Dim Spatial(Shape shape)
        {
            Dim s = Dim.Known(1);
            for (int i = 2; i < shape.Rank; i++) s = s.Multiply(shape[i]);
            return s;
        }

        public override Planning Planning => Planning.Layer;

        // Training: mean, var (biased) per channel over N·S; y = (x − mean)·rstd·weight + bias, rstd = 1/√(var + eps);
        //   running_mean ← (1 − m)·running_mean + m·mean, running_var ← (1 − m)·running_var + m·var·n/(n − 1), counter + 1;
        //   mean and rstd [C] kept for the backward.
        // Inference: the same formula with running_mean and running_var, no state changes.
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            var channels = new Shape(shape[1]);
            var mean = p.NewBuffer(op.Output.Name + ".mean", BufferKind.Saved, channels, DType.F32);
            var rstd = p.NewBuffer(op.Output.Name + ".rstd", BufferKind.Saved, channels, DType.F32);
            var a = Attributes(op);
            var weight = OwnedOrNull(op, "weight");
            var bias = OwnedOrNull(op, "bias");
            return new BatchNormKernel(p.KernelName("fwd", "batch_norm"), new[] { p.Origin(op) }, shape[0], shape[1].Value, Spatial(shape), (float)a.Momentum, (float)a.Eps,
                p.Value(op.Inputs[0]), weight is null ? null : p.Parameter(weight), bias is null ? null : p.Parameter(bias), p.Value(op.Output), mean, rstd,
                p.State(OwnedState(op, "running_mean")), p.State(OwnedState(op, "running_var")), OwnedState(op, "num_batches_tracked"));
        }

        // The full gradient through the batch statistics (mean and var depend on every x of the channel), n = N·S:
        //   x̂ = (x − mean)·rstd,  dx̂ = dy·weight
        //   dx (+)= rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) = weight·rstd·(dy − mean(dy) − x̂·mean(dy·x̂))
        //   dweight (+)= Σ dy·x̂,  dbias (+)= Σ dy   (sums over the channel's n values)
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var norm = (BatchNormKernel)forward;
            var dx = InputGradient(p, op);
            bool affine = Attributes(op).Affine;
            var dw = affine ? ParameterGradient(p, op, "weight") : null;
            var db = affine ? ParameterGradient(p, op, "bias") : null;
            yield return new BatchNormBackwardKernel(p.KernelName("bwd", "batch_norm"), new[] { p.Origin(op) }, norm, p.Gradient(op.Output), dx, dw, db);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            BatchNormKernel k => Does(
                Join($"{k.Output} = ({k.Input} − mean)·rstd{(k.Weight is null ? "" : "·" + k.Weight.Name)}{(k.Bias is null ? "" : " + " + k.Bias.Name)} per channel of {k.Channels} over {k.Batch}·{k.Spatial} values: ",
                    $"training: batch statistics ({k.Mean}, {k.Rstd} kept for the backward), {k.RunningMean} and {k.RunningVar} updated with momentum {k.Momentum}, {k.NumBatchesTracked.Name} + 1; ",
                    $"inference: {k.RunningMean} and {k.RunningVar}"),
                Call("BatchNorm", "Forward", Size(k.Batch), Int(k.Channels), Size(k.Spatial), Buffer(k.Input), Buffer(k.Weight), Buffer(k.Bias), Buffer(k.Output),
                    Buffer(k.Mean), Buffer(k.Rstd), Buffer(k.RunningMean), Buffer(k.RunningVar), Counter(k.NumBatchesTracked), Float(k.Momentum), Float(k.Epsilon), Training())),
            BatchNormBackwardKernel k => Does(
                Join(k.WeightGradient is null ? null : F($"{k.WeightGradient} Σ {k.OutputGradient}·x̂, {k.BiasGradient} Σ {k.OutputGradient}"),
                    k.InputGradient is null ? null : F($"{(k.WeightGradient is null ? "" : "; ")}{k.InputGradient} rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) per channel, dx̂ = {k.OutputGradient}{(k.Forward.Weight is null ? "" : "·" + k.Forward.Weight.Name)}, through the batch statistics")),
                Call("BatchNorm", "Backward", Size(k.Forward.Batch), Int(k.Forward.Channels), Size(k.Forward.Spatial), Buffer(k.Forward.Input), Buffer(k.Forward.Weight),
                    Buffer(k.Forward.Mean), Buffer(k.Forward.Rstd), Buffer(k.OutputGradient), Gradient(k.InputGradient), Gradient(k.WeightGradient), Gradient(k.BiasGradient),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false), Flag("accumulateParameterGradients", SameFlag(k, k.WeightGradient, k.BiasGradient)))),
            _ => null,
        };

        // two passes for mean and variance, then scale and shift: ~7 per element; the backward's two sums and the dx formula ~9
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 7, 9);

        /// <summary>
        /// Inference: ONNX BatchNormalization (training_mode 0) with the running statistics as initializers under their
        /// state_dict names; without affine, scale and bias are constant ones and zeros [C].
        /// </summary>
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            var a = Attributes(op);
            long channels = op.Inputs[0].Shape[1].Value;
            string scale, bias;
            if (a.Affine)
            {
                scale = o.Use(Owned(op, "weight"));
                bias = o.Use(Owned(op, "bias"));
            }
            else
            {
                scale = o.Filled(op.LayerPath + ".scale", channels, 1f);
                bias = o.Filled(op.LayerPath + ".shift", channels, 0f);
            }
            o.Emit("BatchNormalization",
                new[] { o.Input(0), scale, bias, o.Use(OwnedState(op, "running_mean")), o.Use(OwnedState(op, "running_var")) }, output,
                OnnxAttribute.Float("epsilon", (float)a.Eps), OnnxAttribute.Float("momentum", (float)(1 - a.Momentum)), OnnxAttribute.Int("training_mode", 0));
        }

        /// <summary>One of the op's own states by role (<c>running_mean</c>).</summary>
        private static StateInfo OwnedState(OpNode op, string role)
        {
            foreach (var s in op.States)
            {
                if (s.Role == role) return s;
            }
            throw new System.InvalidOperationException($"batch_norm '{op.LayerPath}' has no {role}");
        }
    }
}
