using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary>
    /// What lstm and gru share: the reverse direction of <c>bidirectional=true</c> (its parameters are the forward set's
    /// names plus <see cref="ReverseSuffix"/>, as PyTorch's <c>weight_ih_l0_reverse</c> is <c>weight_ih_l0</c>'s), and the
    /// ONNX lowering of both onto ONNX's LSTM/GRU with their gate blocks reordered.
    /// </summary>
    internal abstract class RecurrentRule<T> : OpRule<T> where T : OpAttributes
    {
        /// <summary>The reverse direction's parameter names: <c>weight_ih_reverse</c>, … (PyTorch's less the <c>_l0</c>).</summary>
        public const string ReverseSuffix = "_reverse";

        protected RecurrentRule(string name, OpKind kind, Signature signature)
            : base(name, kind, signature)
        {
        }

        protected static ReverseParameters ReverseParametersOf(IPlanContext p, OpNode op) => new ReverseParameters(
            p.Parameter(Owned(op, "weight_ih" + ReverseSuffix)), p.Parameter(Owned(op, "weight_hh" + ReverseSuffix)),
            p.Parameter(Owned(op, "bias_ih" + ReverseSuffix)), p.Parameter(Owned(op, "bias_hh" + ReverseSuffix)));

        /// <summary>The reverse direction's gradients, in the order the runtime writes them (after the forward direction's).</summary>
        protected static ReverseGradients ReverseGradientsOf(IPlanContext p, OpNode op, ReverseParameters reverse)
        {
            var dwih = ParameterGradient(p, op, "weight_ih" + ReverseSuffix);
            var dwhh = ParameterGradient(p, op, "weight_hh" + ReverseSuffix);
            var dbih = ParameterGradient(p, op, "bias_ih" + ReverseSuffix);
            var dbhh = ParameterGradient(p, op, "bias_hh" + ReverseSuffix);
            return new ReverseGradients(reverse.WeightIh, reverse.WeightHh, dwih, dwhh, dbih, dbhh);
        }

        /// <summary>
        /// The calls of a bidirectional forward: <c><paramref name="runtimeClass"/>.ForwardBidirectional</c> (both directions,
        /// Runtime/Cpu/Layers/BidirectionalRecurrence.cs) into its <c>BidirectionalWorkspaceSize</c>; <paramref name="layer"/>
        /// ("LSTM") names the layer and <paramref name="saved"/> ("gates, cells and states") what the working memory keeps, in the comment.
        /// </summary>
        protected static LayerCalls BidirectionalForwardCalls(IRecurrentKernel k, ReverseParameters r, string runtimeClass, string layer, string saved) => Does(
                Join($"{k.HiddenStates}{k.HiddenStates.Shape} = every step's (forward, backward) hidden state of the bidirectional {layer} over {k.Input}",
                    k.LastHidden is null ? null : F($"; {k.LastHidden} = (forward at the last step, backward at the first)"),
                    $"; {k.Workspace} keeps both directions' {saved} for the backward"),
                Call(runtimeClass, "ForwardBidirectional", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden), Buffer(k.Input),
                    Buffer(k.WeightIh), Buffer(k.WeightHh), Buffer(k.BiasIh), Buffer(k.BiasHh), Buffer(r.WeightIh), Buffer(r.WeightHh), Buffer(r.BiasIh), Buffer(r.BiasHh),
                    Buffer(k.HiddenStates), Buffer(k.LastHidden), Buffer(k.Workspace)))
            .WithWorkspace(k.Workspace, Call(runtimeClass, "BidirectionalWorkspaceSize", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden)))
            .OnGpu(Join($"{k.HiddenStates}{k.HiddenStates.Shape} = every step's (forward, backward) hidden state of the bidirectional {layer} over {k.Input}",
                k.LastHidden is null ? null : F($"; {k.LastHidden} = (forward at the last step, backward at the first)"),
                $"; {k.Workspace} keeps both directions' {saved} for the backward.\nEach direction as one {layer} (the reverse one over {k.Input} reversed in time, md_sequence_copy), then md_sequence_copy joins them."));

        /// <summary>The call of a bidirectional backward: <c><paramref name="runtimeClass"/>.BackwardBidirectional</c>, both directions' gradients.</summary>
        protected static LayerCalls BidirectionalBackwardCalls<TKernel>(TKernel k, ReverseGradients r, string runtimeClass)
            where TKernel : Kernel, IRecurrentBackwardKernel => Does(
                Join($"backpropagation through time in both directions from {(k.HiddenStatesGradient ?? k.LastHiddenGradient)!}: {k.WeightIhGradient} …, {k.WeightHhGradient} …, {k.BiasIhGradient} …, {k.BiasHhGradient} …, ",
                    $"{r.WeightIhGradient} …, {r.WeightHhGradient} …, {r.BiasIhGradient} …, {r.BiasHhGradient} …",
                    k.InputGradient is null ? null : F($", {k.InputGradient} … (both directions)"), $" (the gates in {k.Workspace} become their gradients)"),
                Call(runtimeClass, "BackwardBidirectional", Size(k.Batch), Size(k.Steps), Int(k.InputSize), Int(k.Hidden), Buffer(k.Input), Buffer(k.WeightIh), Buffer(k.WeightHh),
                    Buffer(r.WeightIh), Buffer(r.WeightHh), Buffer(k.HiddenStatesGradient), Buffer(k.LastHiddenGradient), Buffer(k.Workspace), Gradient(k.InputGradient),
                    Gradient(k.WeightIhGradient), Gradient(k.WeightHhGradient), Gradient(k.BiasIhGradient), Gradient(k.BiasHhGradient),
                    Gradient(r.WeightIhGradient), Gradient(r.WeightHhGradient), Gradient(r.BiasIhGradient), Gradient(r.BiasHhGradient),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false),
                    Flag("accumulateParameterGradients", SameFlag(k, k.WeightIhGradient, k.WeightHhGradient, k.BiasIhGradient, k.BiasHhGradient,
                        r.WeightIhGradient, r.WeightHhGradient, r.BiasIhGradient, r.BiasHhGradient))));

        /// <summary>
        /// ONNX's <paramref name="opType"/> (zero initial state, time-major X [T, B, in]) with PyTorch's weights: per
        /// direction, each parameter's gate blocks reordered to ONNX's order <paramref name="orderName"/> (Reshape to
        /// [gates, …], Gather <paramref name="onnxOrder"/>, Reshape back): W [D, G·h, in], R [D, G·h, h], B = concat(bias_ih, bias_hh) [D, 2·G·h],
        /// the reverse direction's stacked after the forward's (D = 2, direction="bidirectional"). Outputs Y [T, D, B, h] and
        /// Y_h [D, B, h]: return_sequences takes Y to [B, T, D·h] (each step's directions side by side, PyTorch's layout),
        /// otherwise Y_h to [B, D·h] (the forward direction's last state, then the reverse's, which is at t = 0).
        /// </summary>
        protected static void LowerRecurrent(IOnnxContext o, OpNode op, string opType, int gates, string orderName, long[] onnxOrder, long hidden, bool returnSequences, bool bidirectional,
            params OnnxAttribute[] attributes)
        {
            string output = o.Output;
            long h = hidden, g = gates;
            string name = op.Output.Name;
            string blocks = o.Constant(name + "/gate_blocks", new long[] { g, -1 });
            string order = o.Constant(name + "/" + orderName, onnxOrder);
            string Gates(string parameter)
            {
                string split = o.Fresh(name + "/" + parameter + "_blocks"), reordered = o.Fresh(name + "/" + parameter + "_" + orderName);
                o.Emit("Reshape", new[] { o.Use(Owned(op, parameter)), blocks }, split);
                o.Emit("Gather", new[] { split, order }, reordered, OnnxAttribute.Int("axis", 0));
                return reordered;
            }

            var suffixes = bidirectional ? new[] { "", ReverseSuffix } : new[] { "" };
            long directions = suffixes.Length;
            string wShape = o.Constant(name + "/W_shape", new long[] { 1, g * h, op.Inputs[0].Shape[2].Value });
            string rShape = o.Constant(name + "/R_shape", new long[] { 1, g * h, h });
            string bShape = o.Constant(name + "/B_shape", new long[] { 1, 2 * g * h });
            // One [1, …] tensor per direction, stacked on the direction axis when there are two.
            string Stack(string label, System.Func<string, string, string> perDirection)
            {
                var parts = suffixes.Select(suffix => perDirection(suffix, directions == 1 ? o.Fresh(name + "/" + label) : o.Fresh(name + "/" + label + (suffix.Length == 0 ? "_forward" : suffix)))).ToList();
                if (parts.Count == 1) return parts[0];
                string stacked = o.Fresh(name + "/" + label);
                o.Emit("Concat", parts, stacked, OnnxAttribute.Int("axis", 0));
                return stacked;
            }

            string w = Stack("W", (suffix, result) => { o.Emit("Reshape", new[] { Gates("weight_ih" + suffix), wShape }, result); return result; });
            string r = Stack("R", (suffix, result) => { o.Emit("Reshape", new[] { Gates("weight_hh" + suffix), rShape }, result); return result; });
            string b = Stack("B", (suffix, result) =>
            {
                string biases = o.Fresh(name + "/biases" + suffix);
                o.Emit("Concat", new[] { Gates("bias_ih" + suffix), Gates("bias_hh" + suffix) }, biases, OnnxAttribute.Int("axis", 0)); // [2·gates, h]
                o.Emit("Reshape", new[] { biases, bShape }, result);
                return result;
            });

            string timeMajor = o.Fresh(name + "/x_tbi");
            o.Emit("Transpose", new[] { o.Input(0) }, timeMajor, OnnxAttribute.Ints("perm", new long[] { 1, 0, 2 }));
            string y = o.Fresh(name + "/Y"), last = o.Fresh(name + "/Y_h");
            var all = new List<OnnxAttribute> { OnnxAttribute.Int("hidden_size", h) };
            all.AddRange(attributes);
            if (bidirectional) all.Add(OnnxAttribute.String("direction", "bidirectional"));
            o.Emit(opType, new[] { timeMajor, w, r, b }, new[] { y, last }, all.ToArray());
            if (returnSequences && !bidirectional)
            {
                // Y [T, 1, B, h] → [T, B, h] → [B, T, h]
                string steps = o.Fresh(name + "/Y_tbh");
                o.Emit("Squeeze", new[] { y, o.Constant(name + "/axis1", new long[] { 1 }) }, steps);
                o.Emit("Transpose", new[] { steps }, output, OnnxAttribute.Ints("perm", new long[] { 1, 0, 2 }));
            }
            else if (returnSequences)
            {
                // Y [T, 2, B, h] → [B, T, 2, h] → [B, T, 2h]: (forward_t, backward_t) side by side
                string batchMajor = o.Fresh(name + "/Y_bt2h");
                o.Emit("Transpose", new[] { y }, batchMajor, OnnxAttribute.Ints("perm", new long[] { 2, 0, 1, 3 }));
                o.Emit("Reshape", new[] { batchMajor, o.Constant(name + "/Y_shape", new long[] { 0, 0, directions * h }) }, output);
            }
            else if (!bidirectional)
            {
                o.Emit("Squeeze", new[] { last, o.Constant(name + "/axis0", new long[] { 0 }) }, output); // Y_h [1, B, h] → [B, h]
            }
            else
            {
                // Y_h [2, B, h] → [B, 2, h] → [B, 2h]: (forward final, backward final) side by side
                string batchMajor = o.Fresh(name + "/Y_h_b2h");
                o.Emit("Transpose", new[] { last }, batchMajor, OnnxAttribute.Ints("perm", new long[] { 1, 0, 2 }));
                o.Emit("Reshape", new[] { batchMajor, o.Constant(name + "/Y_h_shape", new long[] { 0, directions * h }) }, output);
            }
        }
    }
}
