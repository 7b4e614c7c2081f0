using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>lstm(hidden, return_sequences=false, bidirectional=false)</c>.</summary>
    public sealed record LstmAttributes(long Hidden, bool ReturnSequences, bool Bidirectional = false) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            new[] { Pair("hidden", Hidden), Pair("return_sequences", ReturnSequences), Pair("bidirectional", Bidirectional) };

        /// <summary>The output's feature size: hidden, or 2·hidden with both directions side by side.</summary>
        public long Width => Bidirectional ? 2 * Hidden : Hidden;
    }

    /// <summary>
    /// <c>lstm(hidden, return_sequences=false, bidirectional=false)</c>: [B, T, in] → [B, hidden] (or [B, T, hidden]); zero
    /// initial state. PyTorch's layout, gates stacked i, f, g, o: weight_ih [4h, in], weight_hh [4h, h], bias_ih [4h],
    /// bias_hh [4h]. bidirectional=true is nn.LSTM(bidirectional=True): a second set, weight_ih_reverse … bias_hh_reverse
    /// (PyTorch's weight_ih_l0_reverse … without the layer suffix, as the forward set), runs over the sequence backwards;
    /// the output is [B, T, 2·hidden] = (forward_t, backward_t), or [B, 2·hidden] = (forward at T−1, backward at t = 0).
    /// Kernels: <c>Runtime/Cpu/Layers/Lstm.cs</c>, <c>md_lstm_*</c> in the CUDA layer library with cuBLAS GEMMs.
    /// </summary>
    internal sealed class Lstm : RecurrentRule<LstmAttributes>
    {
        public static readonly Lstm Rule = new Lstm();

        private Lstm()
            : base("lstm", OpKind.Lstm, new Signature(Signature.Tensor(), Signature.Int("hidden"), Signature.Bool("return_sequences", false), Signature.Bool("bidirectional", false)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, in]")) return null;
            if (!c.RequireKnown(0, 2, "the feature dimension (it sizes the weights)")) return null;
            Dim h = c.IntDim("hidden"), input = c.InputShape[2];
            bool sequences = c.Bool("return_sequences"), bidirectional = c.Bool("bidirectional");
            c.SetAttributes(new LstmAttributes(h.Value, sequences, bidirectional));
            Dim gates = Dim.Known(checked(4 * h.Value), "4*" + (h.Label ?? h.ToExpression()));
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

        // per step t: gates = x[t]·weight_ihᵀ + h[t-1]·weight_hhᵀ + bias_ih + bias_hh; i, f, o = σ(·), g = tanh(·);
        // c[t] = f·c[t-1] + i·g; h[t] = o·tanh(c[t]). Every h[t] is kept (the output, or saved state); the workspace keeps
        // the activated gates and the cells for the backward.
        // bidirectional: the same per direction, the reverse one over x reversed in time (Lstm.ForwardBidirectional); every
        // step's joined state (h_fwd[t], h_bwd[t]) is kept, and each direction's state stays in the workspace.
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            var a = Attributes(op);
            long hidden = a.Hidden;
            var y = p.Value(op.Output);
            var states = a.ReturnSequences ? y : p.NewBuffer(op.Output.Name + ".states", BufferKind.Saved, new Shape(shape[0], shape[1], Dim.Known(a.Width)), DType.F32);
            // The part the plan fixes: the activated gates and the cells, [B, T, 4H + H], plus the step inputs h_prev [B, T, H];
            // the runtime adds dh and dc [B, H] each (Lstm.WorkspaceSize). Both directions: twice that, and the rest of
            // Lstm.BidirectionalWorkspaceSize (x reversed, each direction's states and their gradients, dx reversed).
            long perStep = a.Bidirectional ? 2 * 6 * hidden + 4 * hidden + 2 * shape.Last.Value : 6 * hidden;
            var workspace = p.NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], shape[1], Dim.Known(perStep)), DType.F32);
            return new LstmKernel(p.KernelName("fwd", "lstm"), new[] { p.Origin(op) }, shape[0], shape[1], shape.Last.Value, hidden, p.Value(op.Inputs[0]),
                p.Parameter(Owned(op, "weight_ih")), p.Parameter(Owned(op, "weight_hh")), p.Parameter(Owned(op, "bias_ih")), p.Parameter(Owned(op, "bias_hh")),
                states, a.ReturnSequences ? null : y, workspace, a.Bidirectional ? ReverseParametersOf(p, op) : null);
        }

        // backpropagation through time, last step to first: the gates in the workspace become their gradients dpre;
        // dweight_ih (+)= dpreᵀ·x, dweight_hh (+)= dpreᵀ·h_prev, dbias_* (+)= Σ dpre, dx (+)= dpre·weight_ih
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var lstm = (LstmKernel)forward;
            bool sequences = lstm.LastHidden is null;
            var dy = p.Gradient(op.Output);
            var dx = InputGradient(p, op);
            var dwih = ParameterGradient(p, op, "weight_ih");
            var dwhh = ParameterGradient(p, op, "weight_hh");
            var dbih = ParameterGradient(p, op, "bias_ih");
            var dbhh = ParameterGradient(p, op, "bias_hh");
            var reverse = lstm.Reverse is null ? null : ReverseGradientsOf(p, op, lstm.Reverse);
            yield return new LstmBackwardKernel(p.KernelName("bwd", "lstm"), new[] { p.Origin(op) }, lstm.Batch, lstm.Steps, lstm.InputSize, lstm.Hidden,
                lstm.Input, lstm.WeightIh, lstm.WeightHh, lstm.HiddenStates, lstm.Workspace,
                sequences ? dy : null, sequences ? null : dy, dx, dwih, dwhh, dbih, dbhh, reverse);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            LstmKernel { Reverse: { } r } k => BidirectionalForwardCalls(k, r, "Lstm", "LSTM", "gates, cells and states"),
            LstmBackwardKernel { Reverse: { } r } k => BidirectionalBackwardCalls(k, r, "Lstm"),
            LstmKernel k => Does(
                Join($"{k.HiddenStates}{k.HiddenStates.Shape} = every step's hidden state of the LSTM over {k.Input}", k.LastHidden is null ? null : F($"; {k.LastHidden} = the last one"),
                    $"; {k.Workspace} keeps the gates and cells for the backward"),
                Call("Lstm", "Forward", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden), Buffer(k.Input), Buffer(k.WeightIh), Buffer(k.WeightHh), Buffer(k.BiasIh), Buffer(k.BiasHh),
                    Buffer(k.HiddenStates), Buffer(k.LastHidden), Buffer(null), Buffer(k.Workspace)))
                .WithWorkspace(k.Workspace, Call("Lstm", "WorkspaceSize", Size(k.Batch), Size(k.Steps), Int(k.Hidden)))
                .OnGpu(Join($"{k.HiddenStates}{k.HiddenStates.Shape} = every step's hidden state of the LSTM over {k.Input}", k.LastHidden is null ? null : F($"; {k.LastHidden} = the last one"),
                    $"; {k.Workspace} keeps the gates and cells for the backward.\nThe input GEMM for all steps at once, then per step the recurrent GEMM into the step's gate rows (cuBLAS) and the gate kernel.")),
            LstmBackwardKernel k => Does(
                Join($"backpropagation through time from {(k.HiddenStatesGradient ?? k.LastHiddenGradient)!}: {k.WeightIhGradient} …, {k.WeightHhGradient} …, {k.BiasIhGradient} …, {k.BiasHhGradient} …",
                    k.InputGradient is null ? null : F($", {k.InputGradient} …"), $" (the gates in {k.Workspace} become their gradients)"),
                Call("Lstm", "Backward", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden), Buffer(k.Input), Buffer(k.WeightIh), Buffer(k.WeightHh), Buffer(k.HiddenStates),
                    Buffer(k.HiddenStatesGradient), Buffer(k.LastHiddenGradient), Buffer(k.Workspace), Gradient(k.InputGradient),
                    Gradient(k.WeightIhGradient), Gradient(k.WeightHhGradient), Gradient(k.BiasIhGradient), Gradient(k.BiasHhGradient),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false),
                    Flag("accumulateParameterGradients", SameFlag(k, k.WeightIhGradient, k.WeightHhGradient, k.BiasIhGradient, k.BiasHhGradient))))
                .OnGpu(Join($"backpropagation through time from {(k.HiddenStatesGradient ?? k.LastHiddenGradient)!}: {k.WeightIhGradient} …, {k.WeightHhGradient} …, {k.BiasIhGradient} …, {k.BiasHhGradient} …",
                    k.InputGradient is null ? null : F($", {k.InputGradient} …"),
                    $" (the gates in {k.Workspace} become their gradients dpre).\nPer step, last to first, the gate kernel, then dh for the step before (cuBLAS); then each weight gradient is one GEMM over all B·T rows.")),
            _ => null,
        };

        // per step and row: the two gate GEMMs (2·4h·(in + h)) and ~12 per hidden unit of gate arithmetic; backward twice that
        public override OpCost Cost(OpNode op, CostContext c)
        {
            checked
            {
                var x = op.Inputs[0].Shape;
                long batch = c.Size(x[0]), steps = c.Size(x[1]), inFeatures = c.Size(x[2]), hidden = Attributes(op).Hidden;
                long forward = steps * batch * (2 * 4 * hidden * (inFeatures + hidden) + 12 * hidden);
                if (Attributes(op).Bidirectional) forward *= 2; // the same again over the reversed sequence
                return new OpCost(forward, 2 * forward);
            }
        }

        // ONNX's LSTM (zero initial state, σ/tanh/tanh as here) stacks its gates i, o, f, c where PyTorch's weights are
        // i, f, g, o: the graph gathers the four gate blocks as 0, 3, 1, 2 (the initializers stay as trained). ONNX adds Wb
        // and Rb as this kernel adds both biases. bidirectional: direction="bidirectional", the *_reverse set second.
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var a = Attributes(op);
            LowerRecurrent(o, op, "LSTM", 4, "iofc", new long[] { 0, 3, 1, 2 }, a.Hidden, a.ReturnSequences, a.Bidirectional);
        }
    }
}
