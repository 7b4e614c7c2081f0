using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>gru(hidden, return_sequences=false)</c>.</summary>
    public sealed record GruAttributes(long Hidden, bool ReturnSequences) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("hidden", Hidden), Pair("return_sequences", ReturnSequences) };
    }

    /// <summary>
    /// <c>gru(hidden, return_sequences=false)</c>: [B, T, in] → [B, hidden] (or [B, T, hidden]); zero initial state.
    /// torch.nn.GRU's layout, gates stacked r, z, n: weight_ih [3h, in], weight_hh [3h, h], bias_ih [3h], bias_hh [3h].
    /// Kernels: <c>Runtime/Cpu/Layers/Gru.cs</c>, <c>md_gru_*</c> in the CUDA layer library (gru.cuh) with cuBLAS GEMMs.
    /// </summary>
    internal sealed class Gru : OpRule<GruAttributes>
    {
        public static readonly Gru Rule = new Gru();

        private Gru()
            : base("gru", OpKind.Gru, new Signature(Signature.Tensor(), Signature.Int("hidden"), Signature.Bool("return_sequences", false)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, in]")) return null;
            if (!c.RequireKnown(0, 2, "the feature dimension (it sizes the weights)")) return null;
            Dim h = c.IntDim("hidden"), input = c.InputShape[2];
            bool sequences = c.Bool("return_sequences");
            c.SetAttributes(new GruAttributes(h.Value, sequences));
            Dim gates = Dim.Known(checked(3 * h.Value), "3*" + (h.Label ?? h.ToExpression()));
            c.AddParameter("weight_ih", new Shape(gates, input), InitKind.UniformInvSqrtHidden, input.Value, gates.Value);
            c.AddParameter("weight_hh", new Shape(gates, h), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            c.AddParameter("bias_ih", new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            c.AddParameter("bias_hh", new Shape(gates), InitKind.UniformInvSqrtHidden, h.Value, gates.Value);
            return sequences ? new Shape(c.InputShape[0], c.InputShape[1], h) : new Shape(c.InputShape[0], h);
        }

        public override Planning Planning => Planning.Layer;

        // per step t: gi = x[t]·weight_ihᵀ + bias_ih, gh = h[t-1]·weight_hhᵀ + bias_hh; r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
        // n = tanh(gi_n + r·gh_n); h[t] = (1 − z)·n + z·h[t-1]. Every h[t] is kept (the output, or saved state); the
        // workspace keeps r, z, n and gh_n for the backward.
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            var a = Attributes(op);
            long hidden = a.Hidden;
            var y = p.Value(op.Output);
            var states = a.ReturnSequences ? y : p.NewBuffer(op.Output.Name + ".states", BufferKind.Saved, new Shape(shape[0], shape[1], Dim.Known(hidden)), DType.F32);
            // The part the plan fixes: the input and recurrent gates, [B, T, 3H + 3H], plus the step inputs h_prev [B, T, H];
            // the runtime adds dh [B, H] (Gru.WorkspaceSize).
            var workspace = p.NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], shape[1], Dim.Known(7 * hidden)), DType.F32);
            return new GruKernel(p.KernelName("fwd", "gru"), new[] { p.Origin(op) }, shape[0], shape[1], shape.Last.Value, hidden, p.Value(op.Inputs[0]),
                p.Parameter(Owned(op, "weight_ih")), p.Parameter(Owned(op, "weight_hh")), p.Parameter(Owned(op, "bias_ih")), p.Parameter(Owned(op, "bias_hh")),
                states, a.ReturnSequences ? null : y, workspace);
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
            yield return new GruBackwardKernel(p.KernelName("bwd", "gru"), new[] { p.Origin(op) }, gru.Batch, gru.Steps, gru.InputSize, gru.Hidden,
                gru.Input, gru.WeightIh, gru.WeightHh, gru.HiddenStates, gru.Workspace,
                sequences ? dy : null, sequences ? null : dy, dx, dwih, dwhh, dbih, dbhh);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
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
                return new OpCost(forward, 2 * forward);
            }
        }

        // ONNX's GRU with linear_before_reset=1 is PyTorch's (r multiplies W_hn·h + b_hn); one forward direction, zero
        // initial state, time-major X [T, B, in]. ONNX stacks the gates z, r, h where PyTorch's weights are r, z, n: the
        // initializers stay as trained, and the graph reorders the three gate blocks (Reshape to [3, …], Gather blocks
        // 1, 0, 2, Reshape back): W [1, 3h, in], R [1, 3h, h], B = concat(bias_ih, bias_hh) [1, 6h]. Outputs Y [T, 1, B, h]
        // (return_sequences brings it to [B, T, h]) and Y_h [1, B, h] (the last step).
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            long h = Attributes(op).Hidden;
            string name = op.Output.Name;
            string blocks = o.Constant(name + "/gate_blocks", new long[] { 3, -1 });
            string zrh = o.Constant(name + "/zrh", new long[] { 1, 0, 2 }); // ONNX's z, r, h as PyTorch's blocks
            string Gates(string parameter)
            {
                string split = o.Fresh(name + "/" + parameter + "_blocks"), reordered = o.Fresh(name + "/" + parameter + "_zrh");
                o.Emit("Reshape", new[] { o.Use(Owned(op, parameter)), blocks }, split);
                o.Emit("Gather", new[] { split, zrh }, reordered, OnnxAttribute.Int("axis", 0));
                return reordered;
            }

            string w = o.Fresh(name + "/W"), r = o.Fresh(name + "/R"), b = o.Fresh(name + "/B"), biases = o.Fresh(name + "/biases");
            o.Emit("Reshape", new[] { Gates("weight_ih"), o.Constant(name + "/W_shape", new long[] { 1, 3 * h, op.Inputs[0].Shape[2].Value }) }, w);
            o.Emit("Reshape", new[] { Gates("weight_hh"), o.Constant(name + "/R_shape", new long[] { 1, 3 * h, h }) }, r);
            o.Emit("Concat", new[] { Gates("bias_ih"), Gates("bias_hh") }, biases, OnnxAttribute.Int("axis", 0)); // [6, h]
            o.Emit("Reshape", new[] { biases, o.Constant(name + "/B_shape", new long[] { 1, 6 * h }) }, b);

            string timeMajor = o.Fresh(name + "/x_tbi");
            o.Emit("Transpose", new[] { o.Input(0) }, timeMajor, OnnxAttribute.Ints("perm", new long[] { 1, 0, 2 }));
            string y = o.Fresh(name + "/Y"), last = o.Fresh(name + "/Y_h");
            o.Emit("GRU", new[] { timeMajor, w, r, b }, new[] { y, last }, OnnxAttribute.Int("hidden_size", h), OnnxAttribute.Int("linear_before_reset", 1));
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
