using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>gru(hidden, return_sequences=false, bidirectional=false)</c>.</summary>
    public sealed record GruAttributes(long Hidden, bool ReturnSequences, bool Bidirectional = false) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            new[] { Pair("hidden", Hidden), Pair("return_sequences", ReturnSequences), Pair("bidirectional", Bidirectional) };

        /// <summary>The output's feature size: hidden, or 2·hidden with both directions side by side.</summary>
        public long Width => Bidirectional ? 2 * Hidden : Hidden;
    }

    /// <summary>
    /// <c>gru(hidden, return_sequences=false, bidirectional=false)</c>: [B, T, in] → [B, hidden] (or [B, T, hidden]); zero
    /// initial state. torch.nn.GRU's layout, gates stacked r, z, n: weight_ih [3h, in], weight_hh [3h, h], bias_ih [3h],
    /// bias_hh [3h]. bidirectional=true is nn.GRU(bidirectional=True): a second set, weight_ih_reverse … bias_hh_reverse
    /// (PyTorch's weight_ih_l0_reverse … without the layer suffix, as the forward set), runs over the sequence backwards;
    /// the output is [B, T, 2·hidden] = (forward_t, backward_t), or [B, 2·hidden] = (forward at T−1, backward at t = 0).
    /// Kernels: <c>Runtime/Cpu/Layers/Gru.cs</c>, <c>md_gru_*</c> in the CUDA layer library (gru.cuh) with cuBLAS GEMMs.
    /// </summary>
    internal sealed class Gru : RecurrentRule<GruAttributes>
    {
        public static readonly Gru Rule = new Gru();

        private Gru()
            : base("gru", OpKind.Gru, new Signature(Signature.Tensor(), Signature.Int("hidden"), Signature.Bool("return_sequences", false), Signature.Bool("bidirectional", false)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, in]")) return null;
            if (!c.RequireKnown(0, 2, "the feature dimension (it sizes the weights)")) return null;
            Dim h = c.IntDim("hidden"), input = c.InputShape[2];
            bool sequences = c.Bool("return_sequences"), bidirectional = c.Bool("bidirectional");
            c.SetAttributes(new GruAttributes(h.Value, sequences, bidirectional));
            Dim gates = Dim.Known(checked(3 * h.Value), "3*" + (h.Label ?? h.ToExpression()));
            foreach (string suffix in bidirectional ? new[] { "", ReverseSuffix } : new[] { "" })
            {
                c.AddParameter("weight_ih" + suffix, new Shape(gates, input), InitKind.UniformInvSqrtHidden, input.Value, gates.Value);
                c.AddParameter("weight_hh" + suffix, new Shape(gates, h), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
                c.AddParameter("bias_ih" + suffix, new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
                c.AddParameter("bias_hh" + suffix, new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            }
            Dim width = bidirectional ? Dim.Known(checked(2 * h.Value), "2*" + (h.Label ?? h.ToExpression())) : h;
            return sequences ? new Shape(c.InputShape[0], c.InputShape[1], width) : new Shape(c.InputShape[0], width);
        }

        public override Planning Planning => Planning.Layer;

        // per step t: gi = x[t]·weight_ihᵀ + bias_ih, gh = h[t-1]·weight_hhᵀ + bias_hh; r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
        // n = tanh(gi_n + r·gh_n); h[t] = (1 − z)·n + z·h[t-1]. Every h[t] is kept (the output, or saved state); the
        // workspace keeps r, z, n and gh_n for the backward.
        // bidirectional: the same per direction, the reverse one over x reversed in time (Gru.ForwardBidirectional); every
        // step's joined state (h_fwd[t], h_bwd[t]) is kept, and each direction's state stays in the workspace.
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            var a = Attributes(op);
            long hidden = a.Hidden;
            var y = p.Value(op.Output);
            var states = a.ReturnSequences ? y : p.NewBuffer(op.Output.Name + ".states", BufferKind.Saved, new Shape(shape[0], shape[1], Dim.Known(a.Width)), DType.F32);
            // The part the plan fixes: the input and recurrent gates, [B, T, 3H + 3H], plus the step inputs h_prev [B, T, H];
            // the runtime adds dh [B, H] (Gru.WorkspaceSize). Both directions: twice that, and the rest of
            // Gru.BidirectionalWorkspaceSize (x reversed, each direction's states and their gradients, dx reversed).
            long perStep = a.Bidirectional ? 2 * 7 * hidden + 4 * hidden + 2 * shape.Last.Value : 7 * hidden;
            var workspace = p.NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], shape[1], Dim.Known(perStep)), DType.F32);
            return new GruKernel(p.KernelName("fwd", "gru"), new[] { p.Origin(op) }, shape[0], shape[1], shape.Last.Value, hidden, p.Value(op.Inputs[0]),
                p.Parameter(Owned(op, "weight_ih")), p.Parameter(Owned(op, "weight_hh")), p.Parameter(Owned(op, "bias_ih")), p.Parameter(Owned(op, "bias_hh")),
                states, a.ReturnSequences ? null : y, workspace, a.Bidirectional ? ReverseParametersOf(p, op) : null);
        }

        // backpropagation through time, last step to first, dh = dy[t] + dh_next:
        // dn = dh·(1 − z)·(1 − n²), dz = dh·(h[t-1] − n)·z(1 − z), dr = dn·gh_n·r(1 − r); dgi = (dr, dz, dn), dgh = (dr, dz, dn·r);
        // dh_next = dh·z + dgh·weight_hh; dweight_ih (+)= dgiᵀ·x, dweight_hh (+)= dghᵀ·h_prev, dbias_ih (+)= Σ dgi,
        // dbias_hh (+)= Σ dgh, dx (+)= dgi·weight_ih
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var gru = (GruKernel)forward;
            bool sequences = gru.LastHidden is null;
            var dy = p.Gradient(op.Output);
            var dx = InputGradient(p, op);
            var dwih = ParameterGradient(p, op, "weight_ih");
            var dwhh = ParameterGradient(p, op, "weight_hh");
            var dbih = ParameterGradient(p, op, "bias_ih");
            var dbhh = ParameterGradient(p, op, "bias_hh");
            var reverse = gru.Reverse is null ? null : ReverseGradientsOf(p, op, gru.Reverse);
            yield return new GruBackwardKernel(p.KernelName("bwd", "gru"), new[] { p.Origin(op) }, gru.Batch, gru.Steps, gru.InputSize, gru.Hidden,
                gru.Input, gru.WeightIh, gru.WeightHh, gru.HiddenStates, gru.Workspace,
                sequences ? dy : null, sequences ? null : dy, dx, dwih, dwhh, dbih, dbhh, reverse);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            GruKernel { Reverse: { } r } k => BidirectionalForwardCalls(k, r, "Gru", "GRU", "gates and states"),
            GruBackwardKernel { Reverse: { } r } k => BidirectionalBackwardCalls(k, r, "Gru"),
            GruKernel k => Does(
                Join($"{k.HiddenStates}{k.HiddenStates.Shape} = every step's hidden state of the GRU over {k.Input}", k.LastHidden is null ? null : F($"; {k.LastHidden} = the last one"),
                    $"; {k.Workspace} keeps the gates for the backward"),
                Call("Gru", "Forward", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden), Buffer(k.Input), Buffer(k.WeightIh), Buffer(k.WeightHh), Buffer(k.BiasIh), Buffer(k.BiasHh),
                    Buffer(k.HiddenStates), Buffer(k.LastHidden), Buffer(k.Workspace)))
                .WithWorkspace(k.Workspace, Call("Gru", "WorkspaceSize", Size(k.Batch), Size(k.Steps), Int(k.Hidden)))
                .OnGpu(Join($"{k.HiddenStates}{k.HiddenStates.Shape} = every step's hidden state of the GRU over {k.Input}", k.LastHidden is null ? null : F($"; {k.LastHidden} = the last one"),
                    $"; {k.Workspace} keeps the gates for the backward.\nThe input GEMM for all steps at once, then per step the recurrent GEMM into the step's gh rows (cuBLAS) and the gate kernel.")),
            GruBackwardKernel k => Does(
                Join($"backpropagation through time from {(k.HiddenStatesGradient ?? k.LastHiddenGradient)!}: {k.WeightIhGradient} …, {k.WeightHhGradient} …, {k.BiasIhGradient} …, {k.BiasHhGradient} …",
                    k.InputGradient is null ? null : F($", {k.InputGradient} …"), $" (the gates in {k.Workspace} become their gradients)"),
                Call("Gru", "Backward", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden), Buffer(k.Input), Buffer(k.WeightIh), Buffer(k.WeightHh), Buffer(k.HiddenStates),
                    Buffer(k.HiddenStatesGradient), Buffer(k.LastHiddenGradient), Buffer(k.Workspace), Gradient(k.InputGradient),
                    Gradient(k.WeightIhGradient), Gradient(k.WeightHhGradient), Gradient(k.BiasIhGradient), Gradient(k.BiasHhGradient),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false),
                    Flag("accumulateParameterGradients", SameFlag(k, k.WeightIhGradient, k.WeightHhGradient, k.BiasIhGradient, k.BiasHhGradient))))
                .OnGpu(Join($"backpropagation through time from {(k.HiddenStatesGradient ?? k.LastHiddenGradient)!}: {k.WeightIhGradient} …, {k.WeightHhGradient} …, {k.BiasIhGradient} …, {k.BiasHhGradient} …",
                    k.InputGradient is null ? null : F($", {k.InputGradient} …"),
                    $" (the gates in {k.Workspace} become their gradients).\nPer step, last to first, the gate kernel, then dh for the step before (cuBLAS); then each weight gradient is one GEMM over all B·T rows.")),
            _ => null,
        };

        // per step and row: the two gate GEMMs (2·3h·(in + h)) and ~12 per hidden unit of gate arithmetic; backward twice that
        public override OpCost Cost(OpNode op, CostContext c)
        {
            checked
            {
                var x = op.Inputs[0].Shape;
                long batch = c.Size(x[0]), steps = c.Size(x[1]), inFeatures = c.Size(x[2]), hidden = Attributes(op).Hidden;
                long forward = steps * batch * (2 * 3 * hidden * (inFeatures + hidden) + 12 * hidden);
                if (Attributes(op).Bidirectional) forward *= 2; // the same again over the reversed sequence
                return new OpCost(forward, 2 * forward);
            }
        }

        // ONNX's GRU with linear_before_reset=1 is PyTorch's (r multiplies W_hn·h + b_hn); zero initial state. ONNX stacks
        // the gates z, r, h where PyTorch's weights are r, z, n: the graph gathers the three gate blocks as 1, 0, 2 (the
        // initializers stay as trained). bidirectional: direction="bidirectional", the *_reverse set second.
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var a = Attributes(op);
            LowerRecurrent(o, op, "GRU", 3, "zrh", new long[] { 1, 0, 2 }, a.Hidden, a.ReturnSequences, a.Bidirectional, OnnxAttribute.Int("linear_before_reset", 1));
        }
    }
}
