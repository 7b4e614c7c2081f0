using System.Collections.Generic;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.IR
{
    /// <summary>
    /// A checked model: the dataflow graph after names are resolved, blocks and repeats are expanded,
    /// and every shape is inferred. Later stages (autodiff, fusion, emit) read only this, never syntax.
    /// </summary>
    public sealed class ModelGraph
    {
        public ModelGraph(
            string name,
            TextSpan nameSpan,
            IReadOnlyList<TensorValue> inputs,
            IReadOnlyList<TensorValue> labels,
            IReadOnlyList<OpNode> nodes,
            IReadOnlyList<ParameterInfo> parameters,
            IReadOnlyList<TensorValue> outputs,
            LossInfo? loss,
            OptimizerInfo? optimizer,
            IReadOnlyList<string> symbolicDimensions)
        {
            Name = name;
            NameSpan = nameSpan;
            Inputs = inputs;
            Labels = labels;
            Nodes = nodes;
            Parameters = parameters;
            Outputs = outputs;
            Loss = loss;
            Optimizer = optimizer;
            SymbolicDimensions = symbolicDimensions;
        }

        public string Name { get; }
        public TextSpan NameSpan { get; }

        /// <summary>Values the caller provides for Forward/Predict, in declaration order.</summary>
        public IReadOnlyList<TensorValue> Inputs { get; }

        /// <summary>Values only the loss reads, in declaration order.</summary>
        public IReadOnlyList<TensorValue> Labels { get; }

        /// <summary>Operations in a topological order (every input defined before use); source order where possible.</summary>
        public IReadOnlyList<OpNode> Nodes { get; }

        /// <summary>Trainable parameters in definition order; a tied parameter appears once, at its owner.</summary>
        public IReadOnlyList<ParameterInfo> Parameters { get; }

        /// <summary>The declared outputs in source order (at least one, names distinct); <c>Forward</c> returns the first.</summary>
        public IReadOnlyList<TensorValue> Outputs { get; }

        /// <summary>The first declared output: the one <c>Forward</c> returns and a one-output model's only result.</summary>
        public TensorValue Output => Outputs[0];

        public LossInfo? Loss { get; }
        public OptimizerInfo? Optimizer { get; }

        /// <summary>Symbolic dimension names (B, T) in order of first appearance.</summary>
        public IReadOnlyList<string> SymbolicDimensions { get; }

        /// <summary>Gradient clipping, the learning-rate schedule, frozen parameters and parameter groups (none when not declared).</summary>
        public TrainingControls Controls { get; set; } = TrainingControls.None;

        /// <summary>
        /// Layer state that is not trained (PyTorch's registered buffers: batch_norm's <c>running_mean</c>, <c>running_var</c>,
        /// <c>num_batches_tracked</c>), in definition order. Checkpoints and ONNX export carry it; optimizers never see it.
        /// </summary>
        public IReadOnlyList<StateInfo> States { get; set; } = new StateInfo[0];

        /// <summary>Each <c>repeat</c> the model expanded: where, how many times, and how many ops it added (for MDL0117).</summary>
        public IReadOnlyList<RepeatInfo> Repeats { get; set; } = new RepeatInfo[0];

        /// <summary>
        /// The block instances whose activations the backward pass recomputes (<c>recompute Block</c>), in forward order; an
        /// instance nested in another recomputed one is part of the outer one. Empty when the model declares none.
        /// </summary>
        public IReadOnlyList<RecomputeInfo> Recomputed { get; set; } = new RecomputeInfo[0];

        /// <summary>The <c>pretrained</c> declaration (docs/pretrained.md), or null when the model has none.</summary>
        public PretrainedInfo? Pretrained { get; set; }

        /// <summary>The <c>precision</c> statement: the GPU session's default arithmetic (FP32 when not declared).</summary>
        public PrecisionInfo Precision { get; set; } = PrecisionInfo.Default;
    }

    /// <summary>One expanded <c>repeat N Stage</c>: its span, N, and the ops its repetitions added (nested ones included).</summary>
    public sealed class RepeatInfo
    {
        public RepeatInfo(TextSpan span, long count, int ops)
        {
            Span = span;
            Count = count;
            Ops = ops;
        }

        public TextSpan Span { get; }
        public long Count { get; }
        public int Ops { get; }
    }

    /// <summary>
    /// One use of a block named by a <c>recompute</c> statement (docs/language.md "Activation recomputation"): the ops its
    /// expansion added, in order (its arguments, evaluated before it, are not among them), where it is used and where the
    /// statement is.
    /// </summary>
    public sealed class RecomputeInfo
    {
        public RecomputeInfo(string block, string path, TextSpan use, TextSpan declaration, IReadOnlyList<OpNode> nodes)
        {
            Block = block;
            Path = path;
            Use = use;
            Declaration = declaration;
            Nodes = nodes;
        }

        /// <summary>The block's name: <c>TransformerBlock</c>.</summary>
        public string Block { get; }

        /// <summary>The instance's layer path: <c>h.2</c> (its parameters are <c>h.2.*</c>).</summary>
        public string Path { get; }

        /// <summary>The call that expanded it (<c>TransformerBlock(d, heads)</c> in a <c>repeat</c>).</summary>
        public TextSpan Use { get; }

        /// <summary>The block's name in the <c>recompute</c> statement.</summary>
        public TextSpan Declaration { get; }

        public IReadOnlyList<OpNode> Nodes { get; }
    }

    /// <summary>A tensor flowing through the graph: an input, a label, or the output of one <see cref="OpNode"/>.</summary>
    public sealed class TensorValue
    {
        public TensorValue(int id, string name, Shape shape, DType dtype, TextSpan span)
        {
            Id = id;
            Name = name;
            Shape = shape;
            DType = dtype;
            Span = span;
        }

        /// <summary>Unique within the graph; stable for the same source.</summary>
        public int Id { get; }

        /// <summary>The binding or input name when there is one (<c>h</c>), else a derived name (<c>h.1</c>).</summary>
        public string Name { get; }

        public Shape Shape { get; }
        public DType DType { get; }

        /// <summary>Where the value is defined in the source (in a block: the instantiation site's statement inside the block).</summary>
        public TextSpan Span { get; }

        public override string ToString() => $"{Name}: {DType.ToSource()}{Shape.ToExpression()}";
    }

    /// <summary>One operation: its kind, inputs, attributes, parameters and the output it defines.</summary>
    public sealed class OpNode
    {
        public OpNode(
            int id,
            OpKind kind,
            IReadOnlyList<TensorValue> inputs,
            TensorValue output,
            Ops.OpAttributes attributes,
            IReadOnlyList<ParameterInfo> parameters,
            string layerPath,
            TextSpan span,
            IReadOnlyList<StateInfo>? states = null)
        {
            States = states ?? NoStates;
            Id = id;
            Kind = kind;
            Inputs = inputs;
            Output = output;
            Attributes = attributes;
            Parameters = parameters;
            LayerPath = layerPath;
            Span = span;
        }

        public int Id { get; }
        public OpKind Kind { get; }
        public IReadOnlyList<TensorValue> Inputs { get; }
        public TensorValue Output { get; }

        /// <summary>
        /// The op's typed attributes (units, stride, causal, ...), defaults filled in: the record its rule declares
        /// (<c>Ops.LayerNormAttributes</c>); <c>Attributes.Describe()</c> lists them as <c>.model</c> source would.
        /// </summary>
        public Ops.OpAttributes Attributes { get; }

        /// <summary>The parameters this op reads (including ones tied from another layer).</summary>
        public IReadOnlyList<ParameterInfo> Parameters { get; }

        private static readonly StateInfo[] NoStates = new StateInfo[0];

        /// <summary>The state this op keeps between calls and never trains (<see cref="StateInfo"/>); empty for most ops.</summary>
        public IReadOnlyList<StateInfo> States { get; }

        /// <summary>The PyTorch-style module path naming this layer's parameters: <c>fc1</c>, <c>h.0</c>, <c>blocks.2.attn</c>.</summary>
        public string LayerPath { get; }

        /// <summary>The call in the source this op comes from.</summary>
        public TextSpan Span { get; }
    }

    /// <summary>A trainable tensor: <c>fc1.weight</c> [256, 784] (PyTorch's [out, in] layout for dense weights).</summary>
    public sealed class ParameterInfo
    {
        public ParameterInfo(string name, string layerPath, string role, Shape shape, InitKind init, long fanIn, long fanOut, TextSpan span)
        {
            Name = name;
            LayerPath = layerPath;
            Role = role;
            Shape = shape;
            Init = init;
            FanIn = fanIn;
            FanOut = fanOut;
            Span = span;
        }

        /// <summary>Full name, <c>{LayerPath}.{Role}</c>.</summary>
        public string Name { get; }
        public string LayerPath { get; }

        /// <summary><c>weight</c>, <c>bias</c>, <c>weight_ih</c>, <c>in_proj_weight</c>, ...</summary>
        public string Role { get; }

        /// <summary>Always fully known: parameters never depend on symbolic dimensions.</summary>
        public Shape Shape { get; }

        public InitKind Init { get; }
        public long FanIn { get; }
        public long FanOut { get; }
        public TextSpan Span { get; }

        /// <summary>The initialiser an <c>init</c> statement gives this parameter (the last one whose pattern matches it), replacing <see cref="Init"/>; null when none does.</summary>
        public DeclaredInit? Declared { get; internal set; }

        /// <summary>A row of a [rows, cols] parameter set to zero after <see cref="Init"/> (embedding's <c>padding_idx</c>), or -1.</summary>
        public long ZeroRow { get; internal set; } = -1;

        public long Count => Shape.KnownElementCount();

        public override string ToString() => $"{Name} {Shape.ToExpression()}";
    }

    /// <summary>
    /// A tensor a layer keeps between calls that is not a trainable parameter (PyTorch's registered buffers):
    /// <c>bn.running_mean</c> f32[C]. The forward pass updates it in training mode and reads it at inference; it gets no
    /// gradient and no optimizer update; checkpoints save and load it under <see cref="Name"/>, and ONNX export writes it
    /// as an initializer. A <see cref="IsCounter"/> state is an int64 scalar the host counts (<c>num_batches_tracked</c>).
    /// </summary>
    public sealed class StateInfo
    {
        public StateInfo(string name, string layerPath, string role, Shape shape, bool isCounter, float initial, TextSpan span)
        {
            Name = name;
            LayerPath = layerPath;
            Role = role;
            Shape = shape;
            IsCounter = isCounter;
            Initial = initial;
            Span = span;
        }

        /// <summary>Full name, <c>{LayerPath}.{Role}</c>: PyTorch's state_dict key.</summary>
        public string Name { get; }
        public string LayerPath { get; }

        /// <summary><c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>.</summary>
        public string Role { get; }

        /// <summary>Always fully known; a counter's is the scalar shape [].</summary>
        public Shape Shape { get; }

        /// <summary>True for an int64 scalar counter kept on the host (saved as I64); false for an f32 tensor.</summary>
        public bool IsCounter { get; }

        /// <summary>The value every element starts at (and returns to on <c>Initialize</c>): 0 for a mean or a counter, 1 for a variance.</summary>
        public float Initial { get; }

        public TextSpan Span { get; }

        public long Count => Shape.KnownElementCount();

        public override string ToString() => $"{Name} {Shape.ToExpression()}";
    }

    /// <summary><c>loss cross_entropy(logits, y)</c>, resolved.</summary>
    public sealed class LossInfo
    {
        public LossInfo(LossKind kind, TensorValue prediction, TensorValue target, TextSpan span, double labelSmoothing = 0)
        {
            Kind = kind;
            LabelSmoothing = labelSmoothing;
            Prediction = prediction;
            Target = target;
            Span = span;
        }

        public LossKind Kind { get; }
        public TensorValue Prediction { get; }
        public TensorValue Target { get; }
        public TextSpan Span { get; }

        /// <summary>cross_entropy's <c>label_smoothing</c> ε in [0, 1] (0 for the other losses): PyTorch's target (1 − ε)·onehot + ε/C.</summary>
        public double LabelSmoothing { get; }

        /// <summary>The call as source writes it, options only when set: <c>cross_entropy(logits, y, label_smoothing=0.1)</c>.</summary>
        public string ToSource() =>
            $"{Kind.ToSource()}({Prediction.Name}, {Target.Name}{(LabelSmoothing == 0 ? "" : ", label_smoothing=" + LabelSmoothing.ToString("R", System.Globalization.CultureInfo.InvariantCulture))})";
    }

    /// <summary><c>optimizer adamw(lr=1e-3, ...)</c>, with every hyperparameter resolved (defaults filled in).</summary>
    public sealed class OptimizerInfo
    {
        public OptimizerInfo(OptimizerKind kind, Ops.OptimizerSettings settings, TextSpan span)
        {
            Kind = kind;
            Settings = settings;
            Span = span;
        }

        public OptimizerKind Kind { get; }

        /// <summary>The typed hyperparameters: <c>Ops.SgdSettings</c> for sgd, <c>Ops.AdamSettings</c> for adam and adamw, <c>Ops.RmspropSettings</c> for rmsprop.</summary>
        public Ops.OptimizerSettings Settings { get; }

        /// <summary>lr, momentum, beta1, beta2, eps, weight_decay, nesterov (0/1): whichever the optimizer takes, in a fixed order (for comments).</summary>
        public IReadOnlyList<KeyValuePair<string, double>> Hyperparameters => Settings.Describe();

        public TextSpan Span { get; }
    }
}
