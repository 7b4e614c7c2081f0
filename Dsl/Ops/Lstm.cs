using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>lstm(hidden, return_sequences=false)</c>.</summary>
    public sealed record LstmAttributes(long Hidden, bool ReturnSequences) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("hidden", Hidden), Pair("return_sequences", ReturnSequences) };
    }

    /// <summary>
    /// <c>lstm(hidden, return_sequences=false)</c>: [B, T, in] → [B, hidden] (or [B, T, hidden]); zero initial state.
    /// PyTorch's layout, gates stacked i, f, g, o: weight_ih [4h, in], weight_hh [4h, h], bias_ih [4h], bias_hh [4h].
    /// Kernels: <c>Runtime/Cpu/Layers/Lstm.cs</c>, <c>md_lstm_*</c> in the CUDA layer library with cuBLAS GEMMs.
    /// </summary>
    internal sealed class Lstm : OpRule<LstmAttributes>
    {
        public static readonly Lstm Rule = new Lstm();

        private Lstm()
            : base("lstm", OpKind.Lstm, new Signature(Signature.Tensor(), Signature.Int("hidden"), Signature.Bool("return_sequences", false)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, in]")) return null;
            if (!c.RequireKnown(0, 2, "the feature dimension (it sizes the weights)")) return null;
            Dim h = c.IntDim("hidden"), input = c.InputShape[2];
            bool sequences = c.Bool("return_sequences");
            c.SetAttributes(new LstmAttributes(h.Value, sequences));
            Dim gates = Dim.Known(checked(4 * h.Value), "4*" + (h.Label ?? h.ToExpression()));
            c.AddParameter("weight_ih", new Shape(gates, input), InitKind.UniformInvSqrtHidden, input.Value, gates.Value);
            c.AddParameter("weight_hh", new Shape(gates, h), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            c.AddParameter("bias_ih", new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            c.AddParameter("bias_hh", new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            return sequences ? new Shape(c.InputShape[0], c.InputShape[1], h) : new Shape(c.InputShape[0], h);
        }

        public override Planning Planning => Planning.Layer;

        // per step t: gates = x[t]·weight_ihᵀ + h[t-1]·weight_hhᵀ + bias_ih + bias_hh; i, f, o = σ(·), g = tanh(·);
        // c[t] = f·c[t-1] + i·g; h[t] = o·tanh(c[t]). Every h[t] is kept (the output, or saved state); the workspace keeps
        // the activated gates and the cells for the backward.
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            var a = Attributes(op);
            long hidden = a.Hidden;
            var y = p.Value(op.Output);
            var states = a.ReturnSequences ? y : p.NewBuffer(op.Output.Name + ".states", BufferKind.Saved, new Shape(shape[0], shape[1], Dim.Known(hidden)), DType.F32);
            // The part the plan fixes: the activated gates and the cells, [B, T, 4H + H], plus the step inputs h_prev [B, T, H];
            // the runtime adds dh and dc [B, H] each (Lstm.WorkspaceSize).
            var workspace = p.NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], shape[1], Dim.Known(6 * hidden)), DType.F32);
            return new LstmKernel(p.KernelName("fwd", "lstm"), new[] { p.Origin(op) }, shape[0], shape[1], shape.Last.Value, hidden, p.Value(op.Inputs[0]),
                p.Parameter(Owned(op, "weight_ih")), p.Parameter(Owned(op, "weight_hh")), p.Parameter(Owned(op, "bias_ih")), p.Parameter(Owned(op, "bias_hh")),
                states, a.ReturnSequences ? null : y, workspace);
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
            yield return new LstmBackwardKernel(p.KernelName("bwd", "lstm"), new[] { p.Origin(op) }, lstm.Batch, lstm.Steps, lstm.InputSize, lstm.Hidden,
                lstm.Input, lstm.WeightIh, lstm.WeightHh, lstm.HiddenStates, lstm.Workspace,
                sequences ? dy : null, sequences ? null : dy, dx, dwih, dwhh, dbih, dbhh);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
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
                return new OpCost(forward, 2 * forward);
            }
        }

        // ONNX's LSTM (one forward direction, zero initial state, σ/tanh/tanh as here) reads time-major X [T, B, in] and
        // stacks its gates i, o, f, c where PyTorch's weights are i, f, g, o: the initializers stay as trained, and the graph
        // reorders the four gate blocks (Reshape to [4, …], Gather blocks 0, 3, 1, 2, Reshape back):
        // W = weight_ih [1, 4h, in], R = weight_hh [1, 4h, h], B = concat(bias_ih, bias_hh) [1, 8h] (ONNX adds Wb and Rb as
        // this kernel adds both biases). Outputs Y [T, 1, B, h] (every step; return_sequences brings it to [B, T, h]) and
        // Y_h [1, B, h] (the last step).
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            long h = Attributes(op).Hidden;
            string name = op.Output.Name;
            string blocks = o.Constant(name + "/gate_blocks", new long[] { 4, -1 });
            string iofc = o.Constant(name + "/iofc", new long[] { 0, 3, 1, 2 }); // ONNX's i, o, f, c as PyTorch's blocks
            string Gates(string parameter)
            {
                string split = o.Fresh(name + "/" + parameter + "_blocks"), reordered = o.Fresh(name + "/" + parameter + "_iofc");
                o.Emit("Reshape", new[] { o.Use(Owned(op, parameter)), blocks }, split);
                o.Emit("Gather", new[] { split, iofc }, reordered, OnnxAttribute.Int("axis", 0));
                return reordered;
            }

            string w = o.Fresh(name + "/W"), r = o.Fresh(name + "/R"), b = o.Fresh(name + "/B"), biases = o.Fresh(name + "/biases");
            o.Emit("Reshape", new[] { Gates("weight_ih"), o.Constant(name + "/W_shape", new long[] { 1, 4 * h, op.Inputs[0].Shape[2].Value }) }, w);
            o.Emit("Reshape", new[] { Gates("weight_hh"), o.Constant(name + "/R_shape", new long[] { 1, 4 * h, h }) }, r);
            o.Emit("Concat", new[] { Gates("bias_ih"), Gates("bias_hh") }, biases, OnnxAttribute.Int("axis", 0)); // [8, h]
            o.Emit("Reshape", new[] { biases, o.Constant(name + "/B_shape", new long[] { 1, 8 * h }) }, b);

            string timeMajor = o.Fresh(name + "/x_tbi");
            o.Emit("Transpose", new[] { o.Input(0) }, timeMajor, OnnxAttribute.Ints("perm", new long[] { 1, 0, 2 }));
            string y = o.Fresh(name + "/Y"), last = o.Fresh(name + "/Y_h");
            o.Emit("LSTM", new[] { timeMajor, w, r, b }, new[] { y, last }, OnnxAttribute.Int("hidden_size", h));
            if (Attributes(op).ReturnSequences)
            {
                // Y [T, 1, B, h] → [T, B, h] → [B, T, h]
                string steps = o.Fresh(name + "/Y_tbh");
                o.Emit("Squeeze", new[] { y, o.Constant(name + "/axis1", new long[] { 1 }) }, steps);
                o.Emit("Transpose", new[] { steps }, output, OnnxAttribute.Ints("perm", new long[] { 1, 0, 2 }));
            }
            else
            {
                o.Emit("Squeeze", new[] { last, o.Constant(name + "/axis0", new long[] { 0 }) }, output); // Y_h [1, B, h] → [B, h]
            }
        }
    }
}
