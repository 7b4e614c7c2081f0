using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// Writes the training half of a model class: parameters, initialisation, the forward pass, the fused loss,
    /// the backward pass and the optimizer, as explicit C# over the CPU runtime (<c>ModelDsl.Runtime</c>).
    /// Every kernel is preceded by a comment naming the .model line and op with its shapes and by a <c>#line</c>
    /// directive, so a reviewer can map code to source and a debugger can step through the .model file.
    /// </summary>
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private CpuModelEmitter(TrainingPlan plan, SourceText source) : base(plan, source)
        {
        }

        /// <summary>The generated file for the training members of <paramref name="plan"/>'s model class.</summary>
        public static string Emit(TrainingPlan plan, SourceText source, string @namespace)
        {
            var emitter = new CpuModelEmitter(plan, source);
            emitter.EmitFile(@namespace);
            return emitter._w.ToString();
        }

        private void EmitFile(string @namespace)
        {
            GeneratedFile.OpenCSharp(_w, _fileName, $"the parameters, forward pass, loss, backward pass and optimizer of {Model.Name}", Model.Name, @namespace);
            // With a loss and an optimizer the class is an ITrainableModel: what the data-parallel trainer
            // (docs/distributed.md) needs. Without a loss the training API (Save, ApplyGradients, ...) is not emitted, so
            // an optimizer alone must not declare the interface (it did, and such a model's build failed with CS0535).
            bool trainable = Model.Optimizer is not null && Model.Loss is not null;
            // A schedule that decays over a total the .model leaves to the caller: IScheduledModel, so Fit can set it.
            bool scheduled = trainable && CallerSetsTotalSteps;
            _w.Open(trainable ? $"partial class {_className} : global::ModelDsl.Runtime.ITrainableModel{(scheduled ? ", global::ModelDsl.Runtime.IScheduledModel" : "")}" : $"partial class {_className}");
            EmitParameters();
            EmitConstruction();
            EmitPublicApi();
            EmitWorkspace();
            EmitForward();
            EmitLoss();
            EmitBackward();
            EmitOptimizer();
            EmitOnnx();
            _w.Close();
            _w.Close();
        }

        private void EmitParameters()
        {
            _w.Line($"private const string ModelName = {Quote(Model.Name)};");
            _w.Line($"private static readonly string[] SymbolNames = {{ {string.Join(", ", _symbols.Select(s => Quote(s)))} }};");
            Section("Parameters (in checkpoint order)");
            foreach (var p in _plan.Parameters)
            {
                var info = p.Parameter!;
                _w.Line($"/// <summary><c>{info.Name}</c> f32{info.Shape.ToExpression()} from {_fileName}:{Line(info.Span)}; initialised {InitText(info)}.</summary>");
                _w.Line($"public global::ModelDsl.Runtime.Parameter {_parameterProperties[p.Parameter!]} {{ get; }} = new global::ModelDsl.Runtime.Parameter({Quote(info.Name)}, new[] {{ {string.Join(", ", info.Shape.Dims.Select(d => d.ToExpression()))} }}, {Quote(_fileName + ":" + Line(info.Span))});");
                _w.Line();
            }
            _w.Line("/// <summary>Every parameter, in checkpoint order; their <c>Gradient</c> arrays hold the last computed gradients.</summary>");
            _w.Line("public global::System.Collections.Generic.IReadOnlyList<global::ModelDsl.Runtime.Parameter> Parameters { get; }");
            EmitStates();
            _w.Line();
            _w.Line("/// <summary>One caller at a time, and the non-finite checks (docs/training.md, \"Threads\" and \"Non-finite values\").</summary>");
            _w.Line("private readonly global::ModelDsl.Runtime.ModelGuard _guard;");
        }

        /// <summary>
        /// Layer state that is not trained (batch_norm's running statistics): a <c>StateBuffer</c> per tensor, kept apart from
        /// <c>Parameters</c> so no optimizer, gradient check or clipping ever touches it; Save, Load and ExportOnnx carry it.
        /// </summary>
        private void EmitStates()
        {
            if (Model.States.Count == 0) return;
            Section("Layer state, not trained (in checkpoint order)");
            foreach (var s in Model.States)
            {
                string what = s.IsCounter ? "an i64 counter, kept on the host" : $"f32{s.Shape.ToExpression()}, starts at {Literal(s.Initial)}";
                _w.Line($"/// <summary><c>{s.Name}</c> from {_fileName}:{Line(s.Span)}: {what}; updated by training-mode forward passes, never by the optimizer.</summary>");
                string create = s.IsCounter
                    ? $"global::ModelDsl.Runtime.StateBuffer.Counter({Quote(s.Name)}, {Quote(_fileName + ":" + Line(s.Span))})"
                    : $"new global::ModelDsl.Runtime.StateBuffer({Quote(s.Name)}, new[] {{ {string.Join(", ", s.Shape.Dims.Select(d => d.ToExpression()))} }}, {Literal(s.Initial)}, {Quote(_fileName + ":" + Line(s.Span))})";
                _w.Line($"public global::ModelDsl.Runtime.StateBuffer {_stateProperties[s]} {{ get; }} = {create};");
                _w.Line();
            }
            _w.Line("/// <summary>Every layer state, in checkpoint order (after the parameters): saved, loaded and exported with them.</summary>");
            _w.Line("public global::System.Collections.Generic.IReadOnlyList<global::ModelDsl.Runtime.StateBuffer> States { get; }");
        }

        private void EmitConstruction()
        {
            Section("Construction and initialisation");
            var optimizer = Model.Optimizer;
            _w.Line("/// <summary>The seed of the initial weights and of the dropout masks.</summary>");
            _w.Line("public ulong Seed { get; }");
            _w.Line();
            _w.Line("/// <summary>Optimizer steps taken (Adam's bias correction and the dropout masks depend on it).</summary>");
            _w.Line("public int Step { get; private set; }");
            _w.Line();
            _w.Line("/// <summary>Which dropout stream this replica draws: 0 alone; each data-parallel rank its own (docs/distributed.md).</summary>");
            _w.Line("public int DropoutStream { get; set; }");
            if (optimizer is not null)
            {
                _w.Line();
                _w.Line($"/// <summary>The learning rate, {Literal(optimizer.Settings.LearningRate)} in {_fileName}:{Line(optimizer.Span)}; set it to follow a schedule.</summary>");
                _w.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\">The value is NaN, infinite or negative.</exception>");
                _w.Line($"public float LearningRate {{ get => _learningRate; set => _learningRate = global::ModelDsl.Runtime.Hyperparameters.LearningRate(ModelName, value); }}");
                _w.Line($"private float _learningRate = {Literal(optimizer.Settings.LearningRate)};");
                if (Model.Controls.Schedule is { } schedule) EmitSchedule(schedule);
                if (HasGroups) EmitGroups(optimizer);
            }
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Whether inputs, targets, the loss, the gradients and the optimizer update are checked for NaN and ±∞ (default true:");
            _w.Line("/// one pass over the inputs and one over the gradients per step; docs/training.md, \"Non-finite values\"). Set it false to handle non-finite values");
            _w.Line("/// yourself: nothing is scanned, and Save and ExportOnnx write whatever the parameters hold.");
            _w.Line("/// </summary>");
            _w.Line("public bool CheckFinite { get => _guard.CheckFinite; set => _guard.CheckFinite = value; }");
            if (Model.Loss is not null)
            {
                _w.Line();
                _w.Line("/// <summary>The global L2 norm of all gradients at the last checked step (NaN before the first, or with CheckFinite off).</summary>");
                _w.Line("public double LastGradientNorm => _guard.LastGradientNorm;");
            }
            _w.Line();
            _w.Line($"/// <summary>Creates the model with deterministic initial weights drawn from <paramref name=\"seed\"/>.</summary>");
            _w.Open($"public {_className}(ulong seed = 0)");
            _w.Line("Seed = seed;");
            _w.Line($"Parameters = new global::ModelDsl.Runtime.Parameter[] {{ {string.Join(", ", _plan.Parameters.Select(p => _parameterProperties[p.Parameter!]))} }};");
            if (Model.States.Count > 0) _w.Line($"States = new global::ModelDsl.Runtime.StateBuffer[] {{ {string.Join(", ", Model.States.Select(st => _stateProperties[st]))} }};");
            _w.Line("_guard = new global::ModelDsl.Runtime.ModelGuard(ModelName, Parameters);");
            int states = StateCount();
            if (states > 0 && Model.Controls.Frozen.Count == 0) _w.Line($"foreach (var p in Parameters) p.EnsureState({states});");
            else if (states > 0)
            {
                // Frozen parameters (freeze) get no optimizer state: only the trained ones are given theirs.
                foreach (var p in _plan.Parameters.Where(p => !Model.Controls.IsFrozen(p.Parameter!)))
                    _w.Line($"{_parameterProperties[p.Parameter!]}.EnsureState({states});");
            }
            EmitFrozenGuard("_guard");
            _w.Line("Initialize();");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>Draws every parameter again from its initializer (deterministic in <see cref=\"Seed\"/>) and resets the optimizer.</summary>");
            _w.Open("public void Initialize()");
            EnterGuard("Initialize");
            for (int k = 0; k < _plan.Parameters.Count; k++)
            {
                var p = _plan.Parameters[k];
                var info = p.Parameter!;
                string target = _parameterProperties[p.Parameter!] + ".Value";
                string seed = $"unchecked(Seed * 0x9E3779B97F4A7C15UL + {k}UL)";
                string call = info.Declared is { } declared ? DeclaredCall(declared, target, seed) : info.Init switch
                {
                    InitKind.KaimingUniform => $"global::ModelDsl.Runtime.Init.KaimingUniform({target}, fanIn: {info.FanIn}, seed: {seed});",
                    InitKind.XavierUniform => $"global::ModelDsl.Runtime.Init.XavierUniform({target}, fanIn: {info.FanIn}, fanOut: {info.FanOut}, seed: {seed});",
                    InitKind.Normal002 => $"global::ModelDsl.Runtime.Init.Normal({target}, std: 0.02f, seed: {seed});",
                    InitKind.UniformInvSqrtHidden => $"global::ModelDsl.Runtime.Init.Uniform({target}, bound: {Literal(1.0 / System.Math.Sqrt(System.Math.Max(1, info.FanOut)))}, seed: {seed});",
                    InitKind.Ones => $"global::ModelDsl.Runtime.Init.Constant({target}, 1f);",
                    _ => $"global::ModelDsl.Runtime.Init.Constant({target}, 0f);",
                };
                _w.Line(call);
                if (info.ZeroRow >= 0)
                {
                    long cols = info.Shape.Last.Value;
                    _w.Line($"global::ModelDsl.Runtime.Init.Constant(global::System.MemoryExtensions.AsSpan({target}, {info.ZeroRow * cols}, {cols}), 0f); // row {info.ZeroRow} (padding_idx) starts at zero");
                }
            }
            _w.Line("foreach (var p in Parameters)");
            _w.Open("");
            _w.Line("p.MarkChanged();");
            _w.Line("global::System.Array.Clear(p.State1);");
            _w.Line("global::System.Array.Clear(p.State2);");
            _w.Line("global::System.Array.Clear(p.Gradient);");
            _w.Close();
            if (Model.States.Count > 0) _w.Line("foreach (var s in States) s.Reset(); // running statistics back to PyTorch's start: means 0, variances 1, counters 0");
            _w.Line("Step = 0;");
            _w.Line("_guard.ParametersChanged();");
            _w.Close();
        }

        /// <summary>
        /// The runtime call for an <c>init</c> statement's initialiser (docs/language.md, "Initialisers"): the same
        /// per-parameter seed as the op defaults, and a trailing comment naming the statement's line.
        /// </summary>
        private string DeclaredCall(DeclaredInit d, string target, string seed)
        {
            string where = $" // {d.Source} (init at {_fileName}:{Line(d.Span)})";
            return d.Function switch
            {
                InitFunction.Normal => $"global::ModelDsl.Runtime.Init.Normal({target}, mean: {Literal(d.A)}, std: {Literal(d.B)}, seed: {seed});",
                InitFunction.Uniform => $"global::ModelDsl.Runtime.Init.Uniform({target}, low: {Literal(d.A)}, high: {Literal(d.B)}, seed: {seed});",
                InitFunction.XavierUniform => $"global::ModelDsl.Runtime.Init.XavierUniform({target}, fanIn: {d.FanIn}, fanOut: {d.FanOut}, gain: {DoubleLiteral(d.A)}, seed: {seed});",
                InitFunction.XavierNormal => $"global::ModelDsl.Runtime.Init.XavierNormal({target}, fanIn: {d.FanIn}, fanOut: {d.FanOut}, gain: {DoubleLiteral(d.A)}, seed: {seed});",
                InitFunction.KaimingUniform => $"global::ModelDsl.Runtime.Init.KaimingUniform({target}, fan: {d.Fan}, gain: {DoubleLiteral(d.A)}, seed: {seed});",
                InitFunction.KaimingNormal => $"global::ModelDsl.Runtime.Init.KaimingNormal({target}, fan: {d.Fan}, gain: {DoubleLiteral(d.A)}, seed: {seed});",
                _ => $"global::ModelDsl.Runtime.Init.Constant({target}, {Literal(d.A)});",
            } + where;
        }


        private string InitText(ParameterInfo p) => p.Declared is { } d ? $"{d.Source} (init at line {Line(d.Span)})" : p.Init switch
        {
            InitKind.KaimingUniform => $"Kaiming-uniform (fan-in {p.FanIn})",
            InitKind.XavierUniform => $"Xavier-uniform (fan-in {p.FanIn}, fan-out {p.FanOut})",
            InitKind.Normal002 => "N(0, 0.02)",
            InitKind.UniformInvSqrtHidden => "U(±1/√hidden)",
            InitKind.Ones => "to ones",
            _ => "to zeros",
        };

        /// <summary>The schedule's factor after Step updates (ModelDsl.Runtime.Schedules), as a C# expression.</summary>
        private string ScheduleFactor(LearningRateSchedule schedule)
        {
            string at = $"{_fileName}:{Line(schedule.Span)}";
            string total = schedule.TotalSteps is { } steps ? steps.ToString(CultureInfo.InvariantCulture) : "TotalSteps";
            return schedule.Kind switch
            {
                ScheduleKind.Constant => $"global::ModelDsl.Runtime.Schedules.Constant(Step, {schedule.Warmup})",
                ScheduleKind.Linear => $"global::ModelDsl.Runtime.Schedules.Linear(Step, {schedule.Warmup}, {total}, {Number(schedule.Floor)}, {Quote(Model.Name + " (" + at + ")")})",
                ScheduleKind.Cosine => $"global::ModelDsl.Runtime.Schedules.Cosine(Step, {schedule.Warmup}, {total}, {Number(schedule.Floor)}, {Quote(Model.Name + " (" + at + ")")})",
                _ => throw new System.InvalidOperationException($"no schedule {schedule.Kind}"),
            };
        }

        /// <summary>
        /// <c>group name(lr=…, weight_decay=…) patterns</c>: which parameter is in which group, each group's weight decay, and
        /// its learning rate, LearningRate scaled by the group's lr over the optimizer's (and by the schedule's factor).
        /// </summary>
        private void EmitGroups(OptimizerInfo optimizer)
        {
            var groups = Model.Controls.Groups;
            int count = groups.Count + 1;
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// The parameter groups of {_fileName} (docs/training.md \"Parameter groups\"), by index:");
            for (int g = 0; g < count; g++)
            {
                var members = _plan.Parameters.Select(p => p.Parameter!).Where(p => !Model.Controls.IsFrozen(p) && Model.Controls.GroupIndex(p) == g).Select(p => p.Name).ToList();
                string what = g == 0 ? $"no group: {optimizer.Kind.ToSource()}'s lr and weight_decay ({_fileName}:{Line(optimizer.Span)})" : GroupText(g);
                _w.Line($"/// {g}: {what}:");
                // The members, wrapped at about 120 columns (a BERT's no_decay group names 50 parameters).
                var line = new System.Text.StringBuilder();
                if (members.Count == 0) members.Add("no parameter");
                for (int i = 0; i < members.Count; i++)
                {
                    string item = members[i] + (i + 1 < members.Count ? "," : ".");
                    if (line.Length > 0 && line.Length + 1 + item.Length > 110)
                    {
                        _w.Line("///    " + line);
                        line.Clear();
                    }
                    line.Append(line.Length > 0 ? " " : "").Append(item);
                }
                _w.Line("///    " + line);
            }
            _w.Line("/// </summary>");
            _w.Line($"public static global::System.Collections.Generic.IReadOnlyList<string> ParameterGroups {{ get; }} = new[] {{ {string.Join(", ", Enumerable.Range(0, count).Select(g => Quote(g == 0 ? "" : groups[g - 1].Name)))} }};");
            _w.Line();
            _w.Line("/// <summary>Each group's lr over the optimizer's: a group's rate is LearningRate times this, so setting LearningRate moves every group in proportion.</summary>");
            _w.Line($"private static readonly double[] GroupRateRatios = {{ {string.Join(", ", Enumerable.Range(0, count).Select(g => DoubleLiteral(GroupRateRatio(g))))} }};");
            _w.Line();
            _w.Line("/// <summary>Each group's weight decay (the optimizer's where the group keeps it).</summary>");
            _w.Line($"internal static readonly float[] GroupWeightDecays = {{ {string.Join(", ", Enumerable.Range(0, count).Select(g => Literal(GroupWeightDecay(g))))} }};");
            _w.Line();
            _w.Line("/// <summary>This update's learning rate per group, filled by Update (kept to allocate nothing per step).</summary>");
            _w.Line($"private readonly float[] _groupRates = new float[{count}];");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// The learning rate of group <paramref name=\"group\"/>'s next update (an index of <see cref=\"ParameterGroups\"/>): LearningRate times the");
            _w.Line("/// group's lr over the optimizer's" + (Model.Controls.Schedule is { } s ? $", times the factor of schedule {s.Describe()} ({_fileName}:{Line(s.Span)})" : "") + ", rounded once.");
            _w.Line("/// </summary>");
            string factor = Model.Controls.Schedule is { } schedule ? " * " + ScheduleFactor(schedule) : "";
            _w.Line($"public float GroupLearningRate(int group) => (float)(LearningRate * GroupRateRatios[group]{factor});");
        }

        /// <summary>A schedule that decays over a total the .model leaves to the caller: the model has a settable TotalSteps (saved in checkpoints).</summary>
        private bool CallerSetsTotalSteps => Model.Optimizer is not null && Model.Controls.Schedule is { TotalSteps: null, Kind: not ScheduleKind.Constant };

        /// <summary>
        /// <c>schedule kind(...)</c>: the rate each update uses, LearningRate (the peak) times the schedule's factor at Step
        /// (ModelDsl.Runtime.Schedules), and, when the .model leaves the total to the caller, TotalSteps.
        /// </summary>
        private void EmitSchedule(LearningRateSchedule schedule)
        {
            string at = $"{_fileName}:{Line(schedule.Span)}";
            if (schedule.TotalSteps is null && schedule.Kind != ScheduleKind.Constant)
            {
                _w.Line();
                _w.Line($"/// <summary>The total number of updates the schedule ({at}) decays over: set it before training (Fit sets it to");
                _w.Line("/// epochs × batches per epoch when it is 0). A step while it is 0 throws InvalidOperationException.</summary>");
                _w.Line("public int TotalSteps { get; set; }");
            }
            string factor = ScheduleFactor(schedule);
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// The learning rate of the next update: LearningRate times the factor of schedule {schedule.Describe()} ({at}) after");
            _w.Line("/// Step updates, rounded once (docs/training.md \"Learning-rate schedules\"). TrainStep and ApplyGradients use it.");
            _w.Line("/// </summary>");
            _w.Line($"public float ScheduledLearningRate => (float)(LearningRate * {factor});");
        }
}
}
