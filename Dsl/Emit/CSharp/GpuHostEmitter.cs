using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The GPU half of a model class (<c>{Model}.Gpu.g.cs</c>): the generated CUDA C as a constant, and a nested
    /// <c>Gpu</c> session that launches its kernels in plan order (cuBLAS for the GEMMs) through ModelDsl.Cuda, on a
    /// real device or on the CPU emulator of the same source. Reads like the CPU half: one block per kernel, each
    /// with the .model line it comes from.
    /// </summary>
    public sealed partial class GpuHostEmitter : CSharpEmitter
    {
        /// <summary>The CUDA C this session launches and how (<see cref="CudaEmitter"/>'s output for the same plan).</summary>
        private readonly CudaModule _cuda;

        private GpuHostEmitter(TrainingPlan plan, SourceText source, CudaModule cuda) : base(plan, source) => _cuda = cuda;

        /// <summary>The generated file for the GPU members of <paramref name="plan"/>'s model class.</summary>
        public static string Emit(TrainingPlan plan, SourceText source, string @namespace, CudaModule cuda)
        {
            var emitter = new GpuHostEmitter(plan, source, cuda);
            emitter.EmitGpuFile(@namespace);
            return emitter._w.ToString();
        }

        private CudaModule Cuda => _cuda;

        private void EmitGpuFile(string @namespace)
        {
            GeneratedFile.OpenCSharp(_w, _fileName, $"{Model.Name} on a CUDA device or its CPU emulator (the fused kernels in CudaSource, matrix products on cuBLAS)", Model.Name, @namespace);
            _w.Open($"partial class {_className}");
            _w.Line($"/// <summary>The CUDA C of <see cref=\"Gpu\"/>'s kernels, generated from {_fileName} (<c>modeldsl emit</c> writes it as {Model.Name}.cu).</summary>");
            _w.Line("public const string CudaSource = \"\"\"");
            foreach (var line in Cuda.Source.TrimEnd('\n').Split('\n')) _w.Directive(line);
            _w.Directive("\"\"\";");
            _w.Line();
            EmitToGpu();
            EmitGpuClass();
            _w.Close();
            _w.Close();
        }

        /// <summary>Every generated kernel the session launches, in order of first use (the layer library's are launched by ModelDsl.Cuda.Layers).</summary>
        private IReadOnlyList<CudaLaunch> AllLaunches()
        {
            var launches = new List<CudaLaunch>();
            foreach (var kernel in _plan.Forward.Concat(_plan.Backward))
            {
                if (Cuda.Launches.TryGetValue(kernel, out var launch)) launches.Add(launch);
            }
            if (Cuda.Loss is { } loss) launches.Add(loss);
            if (_plan.Loss is not null) launches.Add(Cuda.LossMean);
            if (Cuda.Optimizer is { } optimizer) launches.Add(optimizer);
            if (Cuda.GradientSumOfSquaresPartials is { } partials) launches.Add(partials);
            if (Cuda.GradientSumOfSquares is { } norm) launches.Add(norm);
            if (Cuda.GradientScale is { } scale) launches.Add(scale);
            if (Cuda.GradientClear is { } clear) launches.Add(clear);
            return launches;
        }

        private void EmitGpuClass()
        {
            var launches = AllLaunches();
            var arena = ParameterArena.For(_plan);

            _w.Line("/// <summary>");
            _w.Line($"/// {Model.Name} on a GPU: the same forward pass, loss, backward pass and optimizer as the CPU code, as launches of");
            _w.Line("/// the kernels in <see cref=\"CudaSource\"/>. Parameters, gradients and optimizer state stay on the device between steps;");
            _w.Line("/// activations are planned once per binding of the symbolic dimensions. Dispose it to free the device memory.");
            _w.Line("/// </summary>");
            _w.Line(GeneratedFile.GeneratedCode);
            _w.Open(GpuTrainable ? "public sealed class Gpu : global::System.IDisposable, global::ModelDsl.Cuda.IGpuTrainingSession" : "public sealed class Gpu : global::System.IDisposable");
            _w.Line($"private readonly {_className} _model;");
            _w.Line("private readonly global::ModelDsl.Cuda.GpuContext _context;");
            _w.Line("private readonly global::ModelDsl.Cuda.GpuModule _module;");
            if (UsesLayerLibrary) _w.Line($"private readonly {GpuLayers}LayerContext {LayerContextField}; // the layer library's kernels in _module, launched by ModelDsl.Cuda.Layers");
            foreach (var launch in launches) _w.Line($"private readonly global::ModelDsl.Cuda.GpuKernel _{launch.Name};");
            _w.Line();
            _w.Line("// Every parameter lives in one device arena at the offsets below (multiples of 64 floats, for cuBLAS); its gradient");
            _w.Line("// and optimizer state sit at the same offsets of three more, so the optimizer is one launch over all parameters.");
            _w.Line($"private const int ArenaLength = {arena.Length};");
            _w.Line($"private static readonly int[] Offsets = {{ {string.Join(", ", arena.Offsets)} }};");
            _w.Line("private readonly global::ModelDsl.Cuda.DeviceVariable _values, _gradients, _state1, _state2;");
            if (_plan.States.Count > 0)
            {
                _w.Line();
                _w.Line("// Layer state that is not trained (batch_norm's running statistics) in its own device arena, at these offsets, in");
                _w.Line("// the order of the model's States (f32 ones; counters stay on the host): updated by training-mode forward launches,");
                _w.Line("// never by the optimizer; copied with the parameters by CopyToHost and CopyFromHost.");
                _w.Line($"private const int LayerStateLength = {LayerStateOffsets().Sum(o => o.Length)};");
                _w.Line($"private static readonly int[] LayerStateOffsets = {{ {string.Join(", ", LayerStateOffsets().Select(o => o.Offset))} }};");
                _w.Line("private readonly global::ModelDsl.Cuda.DeviceVariable _layerState;");
            }
            _w.Line();
            _w.Line("// One caller at a time, and the non-finite checks (docs/training.md). _syncHost copies the device state into the");
            _w.Line("// model's Parameters when a check needs the values themselves (to name a bad gradient, or to measure before an update).");
            _w.Line("private readonly global::ModelDsl.Runtime.ModelGuard _guard;");
            _w.Line("private readonly global::System.Action _syncHost;");
            if (HasGroups) _w.Line($"private readonly float[] _groupRates = new float[{Model.Controls.Groups.Count + 1}]; // this update's rate per parameter group (the model's ParameterGroups)");
            if (Cuda.GradientSumOfSquares is not null)
            {
                _w.Line($"private readonly global::ModelDsl.Cuda.DeviceVariable _gradientPartials; // {Cuda.GradientPartialCount} floats: the first pass of Σ g²");
                _w.Line("private readonly global::ModelDsl.Cuda.DeviceVariable _gradientSumOfSquares; // one float");
                if (Cuda.GradientScale is not null) _w.Line("private float _checkedSumOfSquares = float.NaN; // Σ g² the non-finite check read back this step, for clip_grad_norm");
            }
            if (HasDropout)
            {
                _w.Line($"private readonly global::ModelDsl.Cuda.DeviceVariable _dropoutSeeds; // {_plan.DropoutSlots} uints: each dropout layer's seed for this step, read by the kernels");
                _w.Line($"private readonly uint[] _seedValues = new uint[{_plan.DropoutSlots}];");
            }
            _w.Line();
            EmitPrecisionFields();
            _w.Line();
            _w.Open($"internal Gpu({_className} model, global::ModelDsl.Cuda.GpuContext context, {PrecisionType} precision)");
            _w.Line("global::System.ArgumentNullException.ThrowIfNull(model);");
            _w.Line("global::System.ArgumentNullException.ThrowIfNull(context);");
            EmitPrecisionConstructor();
            _w.Line("_model = model;");
            _w.Line("_context = context;");
            if (DeclaresBf16)
            {
                _w.Line($"// A Bf16 session compiles CudaSource with md_act = md_bf16: its activations are stored in BF16 (docs/cuda.md \"Precision\").");
                _w.Line($"_module = _bf16 ? context.LoadModule(ModelName + \"_bf16\", \"{CudaModule.Bf16ActivationsDefine}\\n\" + CudaSource) : context.LoadModule(ModelName, CudaSource);");
            }
            else _w.Line("_module = context.LoadModule(ModelName, CudaSource);");
            if (UsesLayerLibrary)
                _w.Line(DeclaresBf16
                    ? $"{LayerContextField} = new {GpuLayers}LayerContext(context, _module, activationBytes: _bf16 ? 2 : 4);"
                    : $"{LayerContextField} = new {GpuLayers}LayerContext(context, _module);");
            foreach (var launch in launches) _w.Line($"_{launch.Name} = _module.GetKernel({Quote(launch.Name)});");
            _w.Line("_values = context.Allocate(ArenaLength * 4L);");
            _w.Line("_gradients = context.Allocate(ArenaLength * 4L);");
            _w.Line($"_state1 = context.Allocate({(StateCount() >= 1 ? "ArenaLength * 4L" : "4")});");
            _w.Line($"_state2 = context.Allocate({(StateCount() >= 2 ? "ArenaLength * 4L" : "4")});");
            if (Cuda.GradientSumOfSquares is not null)
            {
                _w.Line($"_gradientPartials = context.Allocate({Cuda.GradientPartialCount * 4});");
                _w.Line("_gradientSumOfSquares = context.Allocate(4);");
            }
            if (_plan.States.Count > 0) _w.Line("_layerState = context.Allocate(LayerStateLength * 4L);");
            if (DeclaresBf16) _w.Line("_valuesBf16 = context.Allocate(ArenaLength * 2L);");
            if (HasDropout) _w.Line($"_dropoutSeeds = context.Allocate({_plan.DropoutSlots * 4});");
            _w.Line("_guard = new global::ModelDsl.Runtime.ModelGuard(ModelName + \".Gpu\", model.Parameters);");
            EmitFrozenGuard("_guard");
            _w.Line("_syncHost = DownloadAll;");
            _w.Line("CopyFromHost();");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The device this session runs on.</summary>");
            _w.Line("public global::ModelDsl.Cuda.GpuContext Context => _context;");
            _w.Line();
            _w.Line("/// <summary>Whether inputs, targets, the loss, the gradients and the update are checked for NaN and ±∞ on this session (default true; docs/training.md).</summary>");
            _w.Line("public bool CheckFinite { get => _guard.CheckFinite; set => _guard.CheckFinite = value; }");
            if (Model.Loss is not null)
            {
                _w.Line();
                _w.Line("/// <summary>The global L2 norm of the gradients at the last checked step, from the device reduction (NaN before the first).</summary>");
                _w.Line("public double LastGradientNorm => _guard.LastGradientNorm;");
            }
            EmitGraphMembers();
            EmitGpuApi();
            EmitGpuTransfers();
            EmitGpuWorkspace();
            EmitGpuForward();
            EmitGpuLoss();
            EmitGpuBackward();
            EmitGpuOptimizer();
            EmitGpuDataParallelHooks();
            _w.Close();
        }

        /// <summary>A session that trains (a loss, an optimizer and its launch): the GPU side of <c>ITrainableModel</c>.</summary>
        private bool GpuTrainable => Model.Loss is not null && Model.Optimizer is not null && Cuda.Optimizer is not null;

        /// <summary>
        /// The members <c>ModelDsl.Cuda.Distributed.GpuDataParallel</c> reaches through <c>IGpuTrainingSession</c>, explicit so the
        /// session's own surface stays as it was: the arenas it broadcasts from rank 0 and whose gradients it all-reduces.
        /// </summary>
        private void EmitGpuDataParallelHooks()
        {
            if (!GpuTrainable) return;
            Section("Data-parallel training on several GPUs (docs/distributed.md)");
            _w.Line("// GpuDataParallel broadcasts rank 0's arenas at the start and all-reduces the gradient arena (one flat buffer of");
            _w.Line("// ArenaLength floats, padding included) between ComputeGradients and ApplyGradients.");
            const string session = "global::ModelDsl.Cuda.IGpuTrainingSession", variable = "global::ModelDsl.Cuda.DeviceVariable";
            _w.Line($"global::ModelDsl.Runtime.ITrainableModel {session}.Model => _model;");
            _w.Line($"{variable} {session}.ParameterValues => _values;");
            _w.Line($"{variable} {session}.ParameterGradients => _gradients;");
            string state = StateCount() switch { 0 => "[]", 1 => "[_state1]", _ => "[_state1, _state2]" };
            _w.Line($"global::System.Collections.Generic.IReadOnlyList<{variable}> {session}.OptimizerState => {state};");
            if (DeclaresBf16)
            {
                _w.Open($"void {session}.ParametersChanged()");
                _w.Line("_guard.ParametersChanged(); // the device values were written behind the guard's back");
                EmitRefreshBf16();
                _w.Close();
            }
            else _w.Line($"void {session}.ParametersChanged() => _guard.ParametersChanged(); // the device values were written behind the guard's back");
        }

        /// <summary>Copies output <paramref name="index"/> from the device into its host tensor.</summary>
        private void EmitDownload(int index)
        {
            var output = _plan.Outputs[index].Root;
            if (DeclaresBf16 && ActivationStorage.IsActivation(output)) _w.Line($"w.DownloadActivation(w.{Name(output)}, {OutputTensor(index)}.Span);");
            else if (output.IsPlanned || output.Kind == BufferKind.Input) _w.Line($"w.{Name(output)}.CopyTo<float>({OutputTensor(index)}.Span);");
            else _w.Line($"_values.CopyTo<float>({OutputTensor(index)}.Span, Offsets[{_plan.Parameters.ToList().IndexOf(output)}]);");
        }

        private void EmitGpuApi()
        {
            Section("Inference and training");
            _w.Line($"/// <summary>Runs the model (dropout off) on the device; the returned host tensor belongs to the session and is overwritten by the next call.</summary>");
            _w.Open($"public global::ModelDsl.Runtime.Tensor Forward({Parameters(false)})");
            EnterGuard("Gpu.Forward");
            _w.Line($"var w = Prepare({Arguments(false, "Gpu.Forward", "_model.Step")});");
            _w.Line("RunForward(w, training: false);");
            _w.Line("return DownloadOutput(w);");
            _w.Close();
            if (Model.Outputs.Count > 1)
            {
                _w.Line();
                _w.Line($"/// <summary>Runs the model (dropout off) on the device like <c>Forward</c> and downloads every output; the host tensors belong to the session and are overwritten by the next call.</summary>");
                _w.Open($"public {OutputsType} ForwardAll({Parameters(false)})");
                EnterGuard("Gpu.ForwardAll");
                _w.Line($"var w = Prepare({Arguments(false, "Gpu.ForwardAll", "_model.Step")});");
                _w.Line("RunForward(w, training: false);");
                _w.Line("return DownloadOutputs(w);");
                _w.Close();
            }
            if (ClassifierOutput is { } classes)
            {
                _w.Line();
                _w.Line("/// <summary>The most likely class of each row; the tensor belongs to the session and is reused.</summary>");
                _w.Open($"public global::ModelDsl.Runtime.IntTensor Predict({Parameters(false)})");
                EnterGuard("Gpu.Predict");
                _w.Line($"var w = Prepare({Arguments(false, "Gpu.Predict", "_model.Step")});");
                _w.Line("RunForward(w, training: false);");
                if (PredictionOutput == 0) _w.Line($"global::ModelDsl.Runtime.Metrics.ArgMax(DownloadOutput(w).Span, w.Predicted.Length, {classes}, w.Predicted.Data);");
                else
                {
                    EmitDownload(PredictionOutput); // only the loss's prediction, not the other outputs
                    _w.Line($"global::ModelDsl.Runtime.Metrics.ArgMax({OutputTensor(PredictionOutput)}.Span, w.Predicted.Length, {classes}, w.Predicted.Data);");
                }
                _w.Line("return w.Predicted;");
                _w.Close();
            }
            _w.Line();
            _w.Open("private global::ModelDsl.Runtime.Tensor DownloadOutput(Workspace w)");
            EmitDownload(0);
            _w.Line("return w.Output;");
            _w.Close();
            if (Model.Outputs.Count > 1)
            {
                _w.Line();
                _w.Open($"private {OutputsType} DownloadOutputs(Workspace w)");
                for (int i = 0; i < Model.Outputs.Count; i++) EmitDownload(i);
                _w.Line("return w.Outputs;");
                _w.Close();
            }

            if (Model.Loss is null) return;
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// One training step on the device (forward with dropout, loss, backward, optimizer); returns the batch's mean loss before the update.");
            _w.Line("/// Throws <see cref=\"global::ModelDsl.Runtime.NonFiniteException\"/> (and changes nothing) when an input, the loss, a gradient or the update is NaN or ±∞.");
            _w.Line("/// </summary>");
            _w.Open($"public float TrainStep({Parameters(true)})");
            EnterGuard("Gpu.TrainStep");
            _w.Line($"var w = Prepare({Arguments(true, "Gpu.TrainStep", "_model.Step + 1")});");
            _w.Line($"float loss = Gradients(w, {CallerName("Gpu.TrainStep")});");
            if (Model.Optimizer is not null) _w.Line($"Update({CallerName("Gpu.TrainStep")});");
            _w.Line("return loss;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>Forward (dropout on), loss and backward without updating; the gradients stay on the device (<see cref=\"CopyToHost\"/> copies them).</summary>");
            _w.Open($"public float ComputeGradients({Parameters(true)})");
            EnterGuard("Gpu.ComputeGradients");
            _w.Line($"return Gradients(Prepare({Arguments(true, "Gpu.ComputeGradients", "_model.Step + 1")}), {CallerName("Gpu.ComputeGradients")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The batch's mean loss with dropout off and no gradients. A non-finite loss throws.</summary>");
            _w.Open($"public float Evaluate({Parameters(true)})");
            EnterGuard("Gpu.Evaluate");
            _w.Line($"var w = Prepare({Arguments(true, "Gpu.Evaluate", "_model.Step")});");
            _w.Line("RunForward(w, training: false);");
            _w.Line("float loss = RunLoss(w, withGradient: false);");
            _w.Line($"_guard.Loss({CallerName("Gpu.Evaluate")}, loss, _model.Step);");
            _w.Line("return loss;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Forward, loss and backward (a replayed CUDA graph, or the launches themselves), then the non-finite guard: the loss");
            _w.Line("/// and Σ g² over every gradient (one device reduction, one float back) are read and checked before any optimizer runs.");
            _w.Line("/// </summary>");
            _w.Open("private float Gradients(Workspace w, string caller)");
            if (HasDropout) _w.Line("UploadDropoutSeeds();");
            _w.Line("bool checkFinite = _guard.CheckFinite;");
            _w.Line("if (!ReplayStep(w, checkFinite)) LaunchStep(w, checkFinite);");
            _w.Line("float loss = ReadLoss(w); // waits for the step");
            _w.Line("_guard.Loss(caller, loss, _model.Step + 1);");
            _w.Line("CheckGradients(caller, launched: checkFinite);");
            _w.Line("return loss;");
            _w.Close();
            EmitGraphMethods();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Σ g² on the device (already <paramref name=\"launched\"/> by the step, else launched now), read back as one float and");
            _w.Line("/// checked; a non-finite sum copies the gradients to the host to name the first bad one.");
            _w.Line("/// </summary>");
            _w.Open("private void CheckGradients(string caller, bool launched)");
            if (Cuda.GradientSumOfSquares is not null)
            {
                if (Cuda.GradientScale is not null) _w.Line("_checkedSumOfSquares = float.NaN;");
                _w.Line("if (!_guard.CheckFinite) return;");
                _w.Line("if (!launched) LaunchGradientSumOfSquares();");
                _w.Line("float sumOfSquares = ReadGradientSumOfSquares();");
                if (Cuda.GradientScale is not null) _w.Line("_checkedSumOfSquares = sumOfSquares; // clip_grad_norm reuses it in Update");
                _w.Line("_guard.GradientNorm(caller, _model.Step + 1, sumOfSquares, _syncHost);");
            }
            else
            {
                _w.Line("// The model has no parameters, so there are no gradients to check.");
            }
            _w.Close();
            if (Cuda.GradientSumOfSquares is { } total && Cuda.GradientSumOfSquaresPartials is { } partials)
            {
                _w.Line();
                _w.Line("/// <summary>Σ g² over every gradient, read back as one float (waits for the backward pass).</summary>");
                _w.Open("private float GradientSumOfSquares()");
                _w.Line("LaunchGradientSumOfSquares();");
                _w.Line("return ReadGradientSumOfSquares();");
                _w.Close();
                _w.Line();
                _w.Line($"/// <summary>Σ g² over every gradient into _gradientSumOfSquares: {Cuda.GradientPartialCount} block partial sums, then their sum.</summary>");
                _w.Open("private void LaunchGradientSumOfSquares()");
                EmitLaunch(partials, a => a.Name switch
                {
                    "count" => "ArenaLength",
                    "g" => "_gradients",
                    "partials" => "_gradientPartials",
                    var other => throw new System.InvalidOperationException($"{partials.Name}: no host value for '{other}'"),
                }); // one thread per element of the grid: exactly GradientPartialCount blocks
                EmitLaunch(total, a => a.Name switch
                {
                    "parts" => Cuda.GradientPartialCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "partials" => "_gradientPartials",
                    "sum_sq" => "_gradientSumOfSquares",
                    var other => throw new System.InvalidOperationException($"{total.Name}: no host value for '{other}'"),
                });
                _w.Close();
                _w.Line();
                _w.Line("/// <summary>The Σ g² the last launch wrote (waits for it).</summary>");
                _w.Open("private float ReadGradientSumOfSquares()");
                _w.Line("global::System.Span<float> sumOfSquares = stackalloc float[1];");
                _w.Line("_gradientSumOfSquares.CopyTo(sumOfSquares);");
                _w.Line("return sumOfSquares[0];");
                _w.Close();
            }
        }

        private void EmitGpuTransfers()
        {
            Section("Host copies");
            _w.Line("/// <summary>Copies parameters, their gradients and the optimizer state from the device into the model's <c>Parameters</c> (before <c>Save</c>).</summary>");
            _w.Open("public void CopyToHost()");
            EnterGuard("Gpu.CopyToHost");
            _w.Line("DownloadAll();");
            _w.Close();
            _w.Line();
            _w.Open("private void DownloadAll()");
            _w.Line("var parameters = _model.Parameters;");
            _w.Open("for (int k = 0; k < parameters.Count; k++)");
            _w.Line("_values.CopyTo<float>(parameters[k].Value, Offsets[k]);");
            _w.Line("parameters[k].MarkChanged();");
            _w.Line("_gradients.CopyTo<float>(parameters[k].Gradient, Offsets[k]);");
            if (StateCount() >= 1) _w.Line("_state1.CopyTo<float>(parameters[k].State1, Offsets[k]);");
            if (StateCount() >= 2) _w.Line("_state2.CopyTo<float>(parameters[k].State2, Offsets[k]);");
            _w.Close();
            for (int k = 0; k < _plan.States.Count; k++) _w.Line($"_layerState.CopyTo<float>(_model.{_stateProperties[_plan.States[k].State!]}.Value, LayerStateOffsets[{k}]);");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>Copies the model's parameters and optimizer state to the device (after <c>Load</c> or <c>Initialize</c>).</summary>");
            _w.Open("public void CopyFromHost()");
            EnterGuard("Gpu.CopyFromHost");
            _w.Line("var parameters = _model.Parameters;");
            _w.Open("for (int k = 0; k < parameters.Count; k++)");
            _w.Line("_values.CopyFrom<float>(parameters[k].Value, Offsets[k]);");
            _w.Line("_gradients.CopyFrom<float>(parameters[k].Gradient, Offsets[k]);");
            if (StateCount() >= 1) _w.Line("_state1.CopyFrom<float>(parameters[k].State1, Offsets[k]);");
            if (StateCount() >= 2) _w.Line("_state2.CopyFrom<float>(parameters[k].State2, Offsets[k]);");
            _w.Close();
            for (int k = 0; k < _plan.States.Count; k++) _w.Line($"_layerState.CopyFrom<float>(_model.{_stateProperties[_plan.States[k].State!]}.Value, LayerStateOffsets[{k}]);");
            EmitRefreshBf16();
            _w.Line("_guard.ParametersChanged();");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>Frees every device allocation and the module (the context stays open).</summary>");
            _w.Open("public void Dispose()");
            _w.Line("foreach (var w in _workspaces) w?.Dispose();");
            _w.Line("global::System.Array.Clear(_workspaces);");
            _w.Line("_values.Dispose();");
            _w.Line("_gradients.Dispose();");
            _w.Line("_state1.Dispose();");
            _w.Line("_state2.Dispose();");
            if (_plan.States.Count > 0) _w.Line("_layerState.Dispose();");
            if (DeclaresBf16) _w.Line("_valuesBf16.Dispose();");
            if (Cuda.GradientSumOfSquares is not null)
            {
                _w.Line("_gradientPartials.Dispose();");
                _w.Line("_gradientSumOfSquares.Dispose();");
            }
            if (HasDropout) _w.Line("_dropoutSeeds.Dispose();");
            _w.Line("_module.Dispose();");
            _w.Close();
        }

        private void EmitGpuWorkspace()
        {
            Section("Device buffers, planned once per binding of the symbolic dimensions");
            var deviceBuffers = GpuMemoryPlan.DeviceBuffers(_plan, Cuda); // the per-binding allocations modeldsl summary --device cuda prints
            string ctorParams = string.Join(", ", _symbols.Select(s => $"int {SymbolLocal(s)}"));
            _w.Line(GeneratedFile.GeneratedCode);
            _w.Open("private sealed class Workspace : global::System.IDisposable");
            foreach (var symbol in _symbols) _w.Line($"public readonly int {SymbolLocal(symbol)};");
            if (DeclaresBf16)
            {
                _w.Line("public readonly bool Bf16; // a Bf16 session's workspace: activations stored in BF16");
                _w.Line("public readonly long ActivationBytes; // bytes of one activation (md_act): 2 in a Bf16 session, else 4");
                _w.Line("public readonly ushort[] Bf16Host; // f32 inputs rounded and outputs read back through here (Bf16 only; else empty)");
            }
            foreach (var b in deviceBuffers) _w.Line($"public readonly global::ModelDsl.Cuda.DeviceVariable {Name(b)}; // {DeviceBufferComment(b)}{SharedScratchNote(b)}");
            EmitBf16Staging("field");
            if (_plan.Loss is { } loss)
            {
                _w.Line($"public readonly global::ModelDsl.Cuda.DeviceVariable LossTerms; // one loss term per {(loss.Kind == LossKind.CrossEntropy ? "row" : "element")}, averaged by loss_mean");
                _w.Line("public readonly global::ModelDsl.Cuda.DeviceVariable LossValue; // the mean loss: one float");
            }
            _w.Line("public readonly global::ModelDsl.Runtime.Tensor Output;");
            if (Model.Outputs.Count > 1) _w.Line($"public readonly {OutputsType} Outputs; // Output and the other outputs' host tensors");
            if (ClassifierOutput is not null) _w.Line("public readonly global::ModelDsl.Runtime.IntTensor Predicted;");
            if (Model.Loss is not null)
            {
                _w.Line("public global::ModelDsl.Cuda.GpuGraph? StepGraph; // the training step captured at this binding (Gpu.ReplayStep), freed with the workspace");
                _w.Line("public bool StepGraphChecksFinite; // whether StepGraph includes the Σ g² of the non-finite check");
            }
            _w.Line();
            _w.Open($"public Workspace(global::ModelDsl.Cuda.GpuContext context{(DeclaresBf16 ? ", bool bf16" : "")}{(_symbols.Count > 0 ? ", " + ctorParams : "")})");
            foreach (var symbol in _symbols) _w.Line($"this.{SymbolLocal(symbol)} = {SymbolLocal(symbol)};");
            EmitBindingText();
            if (DeclaresBf16)
            {
                _w.Line("Bf16 = bf16;");
                _w.Line("ActivationBytes = bf16 ? 2L : 4L;");
            }
            foreach (var b in deviceBuffers) _w.Line($"{Name(b)} = context.Allocate({(DeclaresBf16 && ActivationStorage.IsActivation(b) ? "ActivationBytes" : "4L")} * {DeviceLength(b)});");
            EmitBf16Staging("allocate");
            var withOnes = deviceBuffers.Where(b => b.Kind == BufferKind.Workspace && Cuda.Workspaces[b].EndsWithOnes).ToList();
            foreach (var b in withOnes)
            {
                var terms = Cuda.Workspaces[b].Length;
                _w.Line($"{Name(b)}.CopyFrom<float>(Ones({Size(terms[terms.Count - 1])}), offset: {string.Join(" + ", terms.Take(terms.Count - 1).Select(Size))}); // the ones at its end, written once");
            }
            if (_plan.Loss is { } l)
            {
                var terms = l.Kind == LossKind.CrossEntropy ? l.Rows : l.Rows.Multiply(l.Cols);
                _w.Line($"LossTerms = context.Allocate(4L * {Elements("LossTerms", new Shape(terms))});");
                _w.Line("LossValue = context.Allocate(4);");
            }
            string HostTensor(PlanBuffer o, string what) => $"new global::ModelDsl.Runtime.Tensor(new float[{Elements(what, o.Shape)}], {string.Join(", ", o.Shape.Dims.Select(Size))})";
            if (DeclaresBf16)
            {
                // The largest f32 input or activation output, in BF16 on the host.
                var converted = Model.Inputs.Where(v => v.DType == DType.F32).Select(v => Elements(v.Name, v.Shape))
                    .Concat(_plan.Outputs.Where(o => ActivationStorage.IsActivation(o.Root)).Select(o => Elements(o.Name, o.Shape))).ToList();
                string largest = converted.Count == 0 ? "0" : converted.Aggregate((a, b) => $"global::System.Math.Max({a}, {b})");
                _w.Line($"Bf16Host = bf16 ? new ushort[{largest}] : global::System.Array.Empty<ushort>();");
            }
            _w.Line($"Output = {HostTensor(_plan.Output, "Output")};");
            if (Model.Outputs.Count > 1)
            {
                var all = _plan.Outputs.Select((o, i) => i == 0 ? "Output" : HostTensor(o, o.Name));
                _w.Line($"Outputs = new {OutputsType}({string.Join(", ", all)});");
            }
            var output = PredictionOutput >= 0 ? _plan.Outputs[PredictionOutput] : _plan.Output;
            if (ClassifierOutput is not null)
            {
                var leading = output.Shape.Dims.Take(output.Shape.Rank - 1).ToList();
                _w.Line($"Predicted = new global::ModelDsl.Runtime.IntTensor(new int[{Elements("Predicted", new Shape(leading.ToArray()))}], {string.Join(", ", leading.Select(Size))});");
            }
            _w.Close();
            _w.Line();
            if (withOnes.Count > 0)
            {
                _w.Line("/// <summary><paramref name=\"count\"/> ones on the host, copied once into working memory that ends with ones.</summary>");
                _w.Open("private static float[] Ones(int count)");
                _w.Line("var ones = new float[count];");
                _w.Line("global::System.Array.Fill(ones, 1f);");
                _w.Line("return ones;");
                _w.Close();
                _w.Line();
            }
            if (DeclaresBf16)
            {
                _w.Line("/// <summary>An f32 input into its activation buffer: rounded to BF16 on the host (to nearest even, as md_act_from) in a Bf16 session.</summary>");
                _w.Open("public void UploadActivation(global::ModelDsl.Cuda.DeviceVariable device, global::System.ReadOnlySpan<float> values)");
                _w.Open("if (!Bf16)");
                _w.Line("device.CopyFrom<float>(values);");
                _w.Line("return;");
                _w.Close();
                _w.Line("var bits = new global::System.Span<ushort>(Bf16Host, 0, values.Length);");
                _w.Line("global::ModelDsl.Cuda.BFloat16.Round(values, bits);");
                _w.Line("device.CopyFrom<ushort>(bits);");
                _w.Close();
                _w.Line();
                _w.Line("/// <summary>An activation output into the caller's floats: widened from BF16 (exactly) in a Bf16 session.</summary>");
                _w.Open("public void DownloadActivation(global::ModelDsl.Cuda.DeviceVariable device, global::System.Span<float> values)");
                _w.Open("if (!Bf16)");
                _w.Line("device.CopyTo<float>(values);");
                _w.Line("return;");
                _w.Close();
                _w.Line("var bits = new global::System.Span<ushort>(Bf16Host, 0, values.Length);");
                _w.Line("device.CopyTo<ushort>(bits);");
                _w.Line("global::ModelDsl.Cuda.BFloat16.Widen(bits, values);");
                _w.Close();
                _w.Line();
            }
            _w.Open("public void Dispose()");
            if (Model.Loss is not null) _w.Line("StepGraph?.Dispose();");
            foreach (var b in deviceBuffers) _w.Line($"{Name(b)}.Dispose();");
            EmitBf16Staging("dispose");
            if (_plan.Loss is not null)
            {
                _w.Line("LossTerms.Dispose();");
                _w.Line("LossValue.Dispose();");
            }
            _w.Close();
            _w.Close();
            _w.Line();

            EmitWorkspaceCache(
                "The last few workspaces, most recent first; the one pushed out frees its device memory.",
                $"new Workspace(_context{(DeclaresBf16 ? ", _bf16" : "")}{string.Concat(_symbols.Select(s => ", " + SymbolLocal(s)))})", disposeEvicted: true);

            EmitPrepareHeader();
            foreach (var v in Model.Inputs)
            {
                if (DeclaresBf16 && v.DType == DType.F32) _w.Line($"w.UploadActivation(w.{Identifier(v)}, {Identifier(v)}.Span);");
                else _w.Line($"w.{Identifier(v)}.CopyFrom<{ElementType(v.DType)}>({Identifier(v)}.Span);");
            }
            foreach (var v in Model.Labels) _w.Line($"if ({Identifier(v)} is not null) w.{Identifier(v)}.CopyFrom<{ElementType(v.DType)}>({Identifier(v)}.Span);");
            _w.Line("return w;");
            _w.Close();
        }

        private void EmitGpuForward()
        {
            Section("Forward pass");
            _w.Open("private void RunForward(Workspace w, bool training)");
            BindSymbols();
            EmitMathMode();
            foreach (var kernel in _plan.Forward) EmitGpuKernel(kernel);
            _w.Close();
        }

        private void EmitGpuBackward()
        {
            if (_plan.Loss is null) return;
            Section("Backward pass");
            _w.Open("private void RunBackward(Workspace w)");
            BindSymbols();
            EmitMathMode();
            if (BackwardReadsTraining) _w.Line("const bool training = true; // backward draws the same dropout masks as the training forward pass");
            foreach (var kernel in _plan.Backward)
            {
                if (_plan.RecomputeBefore(kernel) is { } segment)
                {
                    RecomputeHeader(segment);
                    foreach (var recomputed in segment.Forward) EmitGpuKernel(recomputed);
                    _w.Line();
                    _w.Line($"// ── backward of block {segment.Instance.Path}");
                }
                EmitGpuKernel(kernel);
            }
            _w.Close();
        }

        private void EmitGpuKernel(Kernel kernel)
        {
            _w.Line();
            _w.Line($"// {kernel.Name}");
            foreach (var origin in kernel.Origins) _w.Line($"//   {_fileName}:{Line(origin.Span)}  {origin.Description}");
            switch (kernel)
            {
                case GemmKernel g when Cuda.Epilogues.TryGetValue(g, out var epilogue):
                    EmitEpilogueGemm(g, epilogue);
                    break;
                case ElementwiseKernel when Cuda.Epilogues.TryGetValue(kernel, out var epilogue):
                    _w.Line($"// no launch: {epilogue.Gemm.Name}'s cuBLASLt epilogue ({CudaEmitter.CublasLtName(epilogue.Kind)}) {(epilogue.Kind == EpilogueKind.BiasGradientOfA ? "below" : "above")} computes this");
                    break;
                case GemmKernel g:
                {
                    string m = Size(g.M), n = Size(g.N), k = Size(g.K);
                    string lda = g.TransA ? m : k, ldb = g.TransB ? k : n;
                    string a = g.TransA ? $"{g.A.Name}ᵀ" : g.A.Name, b = g.TransB ? $"{g.B.Name}ᵀ" : g.B.Name;
                    _w.Line($"// {g.C.Name}[{m}, {n}] {(g.Accumulate ? "+=" : "=")} {a} · {b}   (k = {k}): cuBLAS");
                    string sgemm = $"_context.Sgemm({Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, 1f, {DeviceRef(g.A)}, {lda}, {DeviceRef(g.B)}, {ldb}, {(g.Accumulate ? "1f" : "0f")}, {DeviceRef(g.C)}, {n});";
                    if (DeclaresBf16) EmitBf16Gemm(g, m, n, k, lda, ldb, sgemm);
                    else _w.Line(sgemm);
                    break;
                }
                case ElementwiseKernel:
                    EmitLaunch(Cuda.Launches[kernel], special: null);
                    break;
                case LayerNormKernel when Cuda.FusedLayerNorms.TryGetValue(kernel, out var sum):
                    _w.Line($"// no launch: {Cuda.Launches[sum].Name} above computes this layer norm with the sum it normalises (fused residual + layer norm)");
                    break;
                default:
                    EmitGpuLayerKernel(kernel);
                    break;
            }
        }

        /// <summary>
        /// Fills a generated kernel's arguments in declaration order and launches it with its shape's grid, in a block of
        /// its own (the layer library's kernels are launched by ModelDsl.Cuda.Layers: GpuHostEmitter.Layers.cs).
        /// </summary>
        /// <param name="elements">How to render the element count of an <see cref="LaunchShape.Elements"/> launch instead
        /// of the launch's own count: the optimizer's is the class's <c>ArenaLength</c> constant.</param>
        private void EmitLaunch(CudaLaunch launch, System.Func<CudaArgument, string>? special, string? elements = null)
        {
            _w.Open("");
            _w.Line("var a = new global::ModelDsl.Cuda.KernelArguments();");
            foreach (var argument in launch.Arguments)
            {
                string value = argument.Kind switch
                {
                    ArgumentKind.Size => Size(argument.Size!),
                    ArgumentKind.Buffer => DeviceRef(argument),
                    ArgumentKind.DropoutSeed => $"_dropoutSeeds.Pointer.Plus({argument.Slot})",
                    ArgumentKind.DropoutProbability => $"training ? {Literals.CSharp(DropoutProbability(argument.Slot))} : 0f",
                    ArgumentKind.DropoutScale => $"training ? {Literals.CSharp(1f / (1f - DropoutProbability(argument.Slot)))} : 1f",
                    _ => special!(argument),
                };
                _w.Line($"a.Add({value}); // {ArgumentComment(argument)}");
            }
            string grid = launch.Shape switch
            {
                LaunchShape.Elements => $"global::ModelDsl.Cuda.Grid.Elements({elements ?? Size(launch.Count)})",
                LaunchShape.ColumnBlocks => $"global::ModelDsl.Cuda.Grid.Columns({Size(launch.Count)})",
                LaunchShape.WarpPerRow => $"global::ModelDsl.Cuda.Grid.WarpRows({Size(launch.Count)})",
                LaunchShape.BlockPerRow => $"global::ModelDsl.Cuda.Grid.Blocks({Size(launch.Count)})",
                _ => "new global::ModelDsl.Cuda.Dim3(1)",
            };
            string block = launch.Shape == LaunchShape.ColumnBlocks ? "global::ModelDsl.Cuda.Grid.ColumnBlock" : "global::ModelDsl.Cuda.Grid.Block";
            _w.Line($"_{launch.Name}.Launch({grid}, {block}, ref a);");
            _w.Close();
        }

        /// <summary>The parameter's name, and for a library kernel's parameter or a view, the buffer behind the pointer.</summary>
        private static string ArgumentComment(CudaArgument argument)
        {
            if (argument.Buffer is not { } b) return argument.Name;
            string name = argument.Name == b.Name ? argument.Name : $"{argument.Name}: {b.Name}";
            if (b.AliasOf is not null) name += b.SharesScratch ? $", recomputed block scratch in {b.Root.Name}" : $", a view of {b.Root.Name}";
            return name;
        }

        private float DropoutProbability(int slot) =>
            _plan.Forward.Concat(_plan.Backward).OfType<ElementwiseKernel>()
                .SelectMany(k => k.Outputs.Select(o => o.Value).Concat(k.ColumnSums.Select(s => s.Value)))
                .SelectMany(ExprWalker.Nodes).OfType<DropoutMaskExpr>().First(m => m.Slot == slot).Probability;

        private void EmitGpuLoss()
        {
            if (_plan.Loss is not { } loss || Cuda.Loss is not { } launch) return;
            Section("Loss");
            var origin = loss.Origins[0];
            _w.Line($"/// <summary>{Escape(origin.Description)} ({_fileName}:{Line(origin.Span)}): the mean loss, and with <paramref name=\"withGradient\"/> d loss / d {loss.Prediction.Name} in the same pass.</summary>");
            _w.Open("private float RunLoss(Workspace w, bool withGradient)");
            _w.Line("LaunchLoss(w, withGradient);");
            _w.Line("return ReadLoss(w);");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The loss kernels alone: the mean loss into w.LossValue (and the gradient), nothing read back.</summary>");
            _w.Open("private void LaunchLoss(Workspace w, bool withGradient)");
            BindSymbols();
            string gradient = loss.PredictionGradient is null ? "default(global::ModelDsl.Cuda.DevicePointer)" : $"withGradient ? {DeviceRef(loss.PredictionGradient)} : default(global::ModelDsl.Cuda.DevicePointer)";
            EmitLaunch(launch, a => a.Name == "gradient" ? gradient : "w.LossTerms");
            var terms = loss.Kind == LossKind.CrossEntropy ? loss.Rows : loss.Rows.Multiply(loss.Cols);
            EmitLaunch(Cuda.LossMean, a => a.Name switch { "count" => Size(terms), "terms" => "w.LossTerms", _ => "w.LossValue" });
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The mean loss the loss kernels wrote, as one float (waits for them).</summary>");
            _w.Open("private static float ReadLoss(Workspace w)");
            _w.Line("global::System.Span<float> mean = stackalloc float[1];");
            _w.Line("w.LossValue.CopyTo(mean); // waits for the loss kernels");
            _w.Line("return mean[0];");
            _w.Close();
        }

        private void EmitGpuOptimizer()
        {
            var optimizer = Model.Optimizer;
            if (optimizer is null || Cuda.Optimizer is not { } launch) return;
            Section("Optimizer");
            _w.Line($"/// <summary>One {optimizer.Kind.ToSource()} step over every parameter ({_fileName}:{Line(optimizer.Span)}) in one launch, with the model's current learning rate.</summary>");
            _w.Open("public void ApplyGradients()");
            EnterGuard("Gpu.ApplyGradients");
            // CheckGradients exists with a loss (the model computes gradients); without one there is no backward pass here.
            if (Model.Loss is not null) _w.Line($"CheckGradients({CallerName("Gpu.ApplyGradients")}, launched: false);");
            _w.Line($"Update({CallerName("Gpu.ApplyGradients")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The update itself, after the guard has ruled out a non-finite result (from bounds it tracks; on doubt it copies the state to the host and checks there).</summary>");
            _w.Open("private void Update(string caller)");
            if (Model.Controls.Frozen.Count > 0)
            {
                if (Cuda.GradientClear is not { } clear) throw new System.InvalidOperationException("freeze without its gradient_clear kernel");
                _w.Line($"// freeze ({_fileName}:{Line(Model.Controls.FrozenSpan)}): frozen parameters keep their values; their gradients are set to zero, as on the CPU.");
                foreach (var (start, end, names) in ArenaRuns(frozen: true))
                {
                    _w.Line($"// {names}: arena elements [{start}, {end})");
                    EmitLaunch(clear, a => a.Name switch
                    {
                        "count" => (end - start).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        "g" => $"_gradients.Pointer.Plus({start})",
                        var other => throw new System.InvalidOperationException($"{clear.Name}: no host value for '{other}'"),
                    }, elements: (end - start).ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                if (Cuda.GradientScale is not null) _w.Line("_checkedSumOfSquares = float.NaN; // the sum included the frozen gradients");
            }
            if (Model.Controls.Clip is { } clip)
            {
                if (Cuda.GradientScale is not { } scale) throw new System.InvalidOperationException("clip_grad_norm without its gradient_scale kernel");
                _w.Line($"// clip_grad_norm({Number(clip.MaxNorm)}) ({_fileName}:{Line(clip.Span)}): torch.nn.utils.clip_grad_norm_, every gradient scaled by");
                _w.Line("// max_norm / (‖g‖ + 1e-6) when the global norm ‖g‖ exceeds max_norm; ‖g‖ from the Σ g² the check just read back, else read now.");
                _w.Line("float sumOfSquares = float.IsNaN(_checkedSumOfSquares) ? GradientSumOfSquares() : _checkedSumOfSquares;");
                _w.Line("_checkedSumOfSquares = float.NaN;");
                _w.Line($"float clipScale = global::ModelDsl.Runtime.GradientClipping.Coefficient(global::System.Math.Sqrt(sumOfSquares), {Literal(clip.MaxNorm)});");
                _w.Open("if (clipScale != 1f)");
                EmitLaunch(scale, a => a.Name switch
                {
                    "count" => "ArenaLength",
                    "g" => "_gradients",
                    "scale" => "clipScale",
                    var other => throw new System.InvalidOperationException($"{scale.Name}: no host value for '{other}'"),
                });
                _w.Close();
            }
            if (HasGroups)
            {
                string scaled = Model.Controls.Schedule is { } s ? $" and by schedule {s.Describe()} ({_fileName}:{Line(s.Span)})" : "";
                _w.Line($"// Parameter groups: this update's rate for each, as on the CPU: LearningRate scaled by the group's lr over the optimizer's{scaled}.");
                for (int g = 0; g <= Model.Controls.Groups.Count; g++) _w.Line($"_groupRates[{g}] = _model.GroupLearningRate({g}); // {GroupText(g)}");
                _w.Line($"_guard.{OptimizerMethod(optimizer)}(caller, _model.Step + 1, _groupRates, {HyperArguments(optimizer, "GroupWeightDecays")}, _syncHost);");
                _w.Line("int step = ++_model.Step;");
            }
            else if (Model.Controls.Schedule is { } schedule)
            {
                _w.Line($"// schedule {schedule.Describe()} ({_fileName}:{Line(schedule.Span)}): this update's rate, as on the CPU.");
                _w.Line("float lr = _model.ScheduledLearningRate;");
                _w.Line($"_guard.{OptimizerMethod(optimizer)}(caller, _model.Step + 1, lr, {HyperArguments(optimizer)}, _syncHost);");
                _w.Line("int step = ++_model.Step;");
            }
            else
            {
                _w.Line($"_guard.{OptimizerMethod(optimizer)}(caller, _model.Step + 1, _model.LearningRate, {HyperArguments(optimizer)}, _syncHost);");
                _w.Line("int step = ++_model.Step;");
                _w.Line("float lr = _model.LearningRate;");
            }
            if (optimizer.Settings is Ops.AdamSettings groupAdam && HasGroups)
            {
                _w.Line("// The bias corrections in double, rounded once, exactly as Optimizers.Adam/AdamW on the CPU; each group's step size");
                _w.Line("// (and AdamW's decay 1 − lr·weight_decay) from its own rate, in the launch below.");
                _w.Line($"double bc1 = 1.0 - global::System.Math.Pow({Literal(groupAdam.Beta1)}, step);");
                _w.Line($"float bc2Sqrt = (float)global::System.Math.Sqrt(1.0 - global::System.Math.Pow({Literal(groupAdam.Beta2)}, step));");
            }
            else if (optimizer.Settings is Ops.AdamSettings adam)
            {
                _w.Line("// The bias corrections in double, rounded once, exactly as Optimizers.Adam/AdamW on the CPU.");
                _w.Line($"float stepSize = (float)(lr / (1.0 - global::System.Math.Pow({Literal(adam.Beta1)}, step)));");
                _w.Line($"float bc2Sqrt = (float)global::System.Math.Sqrt(1.0 - global::System.Math.Pow({Literal(adam.Beta2)}, step));");
                _w.Line(optimizer.Kind == OptimizerKind.AdamW
                    ? $"float decay = (float)(1.0 - (double)lr * {Literal(adam.WeightDecay)});"
                    : "float decay = 1f;");
            }
            if (HasGroups)
            {
                _w.Line("// One launch over the arena: each element finds its parameter group in the kernel's run table (frozen runs are skipped)");
                _w.Line("// and takes that group's values, the arguments suffixed with its index.");
                EmitLaunch(launch, a => GroupArgument(a.Name, optimizer.Kind == OptimizerKind.AdamW) ?? a.Name switch
                {
                    "count" => "ArenaLength",
                    "p" => "_values",
                    "p_bf16" => "_valuesBf16",
                    "g" => "_gradients",
                    "velocity" or "m" or "square_avg" => "_state1",
                    "v" or "momentum_buffer" or "grad_avg" => "_state2",
                    "bc2_sqrt" => "bc2Sqrt",
                    var other => throw new System.InvalidOperationException($"{launch.Name}: no host value for the optimizer argument '{other}'"),
                }, elements: "ArenaLength");
                _w.Close();
                return;
            }
            var runs = ArenaRuns(frozen: false);
            if (Model.Controls.Frozen.Count > 0) _w.Line($"// freeze ({_fileName}:{Line(Model.Controls.FrozenSpan)}): one launch per run of trained parameters; the frozen ones are skipped.");
            foreach (var (start, end, names) in runs)
            {
                bool whole = start == 0 && end == ParameterArena.For(_plan).Length;
                if (!whole) _w.Line($"// {names}: arena elements [{start}, {end})");
                string At(string arena) => whole ? arena : $"{arena}.Pointer.Plus({start})";
                EmitLaunch(launch, a => a.Name switch
                {
                    "count" => whole ? "ArenaLength" : (end - start).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "p" => At("_values"),
                    "p_bf16" => whole ? "_valuesBf16" : $"_valuesBf16.Pointer.PlusBf16({start})",
                    "g" => At("_gradients"),
                    "velocity" or "m" or "square_avg" => At("_state1"),
                    "v" or "momentum_buffer" or "grad_avg" => At("_state2"),
                    "lr" => "lr",
                    "step_size" => "stepSize",
                    "bc2_sqrt" => "bc2Sqrt",
                    "decay" => "decay",
                    var other => throw new System.InvalidOperationException($"{launch.Name}: no host value for the optimizer argument '{other}'"),
                }, elements: whole ? "ArenaLength" : (end - start).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            _w.Close();
        }

        /// <summary>
        /// A parameter group's value for the optimizer kernel's argument <paramref name="name"/> (<c>lr_1</c>, <c>step_size_1</c>,
        /// <c>decay_1</c>, <c>weight_decay_1</c>), computed as the CPU's Optimizers computes it from the group's rate; null for
        /// any other argument.
        /// </summary>
        private string? GroupArgument(string name, bool adamW)
        {
            int underscore = name.LastIndexOf('_');
            if (underscore < 0 || !int.TryParse(name.Substring(underscore + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int group)) return null;
            string rate = $"_groupRates[{group}]";
            return name.Substring(0, underscore) switch
            {
                "lr" => rate,
                "weight_decay" => Literal(GroupWeightDecay(group)),
                "step_size" => $"(float)({rate} / bc1)",
                "decay" when adamW => $"(float)(1.0 - (double){rate} * {Literal(GroupWeightDecay(group))})",
                _ => null,
            };
        }

        /// <summary>
        /// The runs of consecutive parameters that are frozen (<paramref name="frozen"/>) or trained, as arena ranges
        /// [start, end) (a parameter's range runs to the next one's offset, its alignment padding included) and their names.
        /// </summary>
        private List<(long Start, long End, string Names)> ArenaRuns(bool frozen)
        {
            var arena = ParameterArena.For(_plan);
            var runs = new List<(long, long, string)>();
            int k = 0, n = _plan.Parameters.Count;
            while (k < n)
            {
                if (Model.Controls.IsFrozen(_plan.Parameters[k].Parameter!) != frozen) { k++; continue; }
                int first = k;
                while (k < n && Model.Controls.IsFrozen(_plan.Parameters[k].Parameter!) == frozen) k++;
                long end = k < n ? arena.Offsets[k] : arena.Length;
                string names = k - first == 1 ? _plan.Parameters[first].Parameter!.Name : $"{_plan.Parameters[first].Parameter!.Name} .. {_plan.Parameters[k - 1].Parameter!.Name}";
                runs.Add((arena.Offsets[first], end, names));
            }
            return runs;
        }

        /// <summary>The device address of a buffer: a workspace allocation (a view's is its root's), or a parameter's slice of an arena.</summary>
        private string DeviceRef(PlanBuffer buffer)
        {
            var b = buffer.Root;
            return b.Kind switch
            {
                BufferKind.Parameter => $"_values.Pointer.Plus(Offsets[{ParameterIndex(b)}])",
                BufferKind.ParameterGradient => $"_gradients.Pointer.Plus(Offsets[{ParameterIndex(b)}])",
                BufferKind.State => $"_layerState.Pointer.Plus(LayerStateOffsets[{StateIndex(b)}])",
                _ => $"w.{Name(b)}.Pointer",
            };
        }

        /// <summary>A kernel argument's device address: its buffer's (a view's is its root's).</summary>
        private string DeviceRef(CudaArgument argument) => DeviceRef(argument.Buffer!);

        /// <summary>What the workspace field's comment says a device buffer is.</summary>
        private string DeviceBufferComment(PlanBuffer b) => b.Kind switch
        {
            BufferKind.Saved => $"saved {b.DType.ToSource()}{ShapeText(b.Shape)}, kept by the forward for the backward",
            BufferKind.Workspace => $"working memory, f32: {Cuda.Workspaces[b].Layout}",
            _ when DeclaresBf16 && ActivationStorage.IsActivation(b) => $"{b.Kind.ToString().ToLowerInvariant()} {b.DType.ToSource()}{ShapeText(b.Shape)}, md_act: BF16 in a Bf16 session",
            _ => $"{b.Kind.ToString().ToLowerInvariant()} {b.DType.ToSource()}{ShapeText(b.Shape)}",
        };

        /// <summary>Elements of a device buffer: the library's size for working memory, the shape's element count otherwise.</summary>
        private string DeviceLength(PlanBuffer b) =>
            b.Kind == BufferKind.Workspace ? Elements(b.Name, Cuda.Workspaces[b].Length, "(working memory)") : Elements(b.Name, b.Shape);

        private int StateIndex(PlanBuffer b)
        {
            for (int k = 0; k < _plan.States.Count; k++)
            {
                if (_plan.States[k] == b) return k;
            }
            throw new System.InvalidOperationException("not a layer state: " + b.Name);
        }

        /// <summary>Each f32 layer state's offset in the device's state arena (multiples of 64 floats, like the parameters') and its padded length.</summary>
        private IReadOnlyList<(long Offset, long Length)> LayerStateOffsets() => GpuMemoryPlan.LayerStateOffsets(_plan);

        private int ParameterIndex(PlanBuffer b)
        {
            for (int k = 0; k < _plan.Parameters.Count; k++)
            {
                if (_plan.Parameters[k].Parameter == b.Parameter) return k;
            }
            throw new System.InvalidOperationException("not a parameter: " + b.Name);
        }
    }
}
