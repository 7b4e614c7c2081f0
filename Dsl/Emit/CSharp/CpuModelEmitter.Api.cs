using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.CSharp
{
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private void EmitPublicApi()
        {
            Section("Inference and training");
            var output = Model.Output;
            string inputDocs = string.Join(", ", Model.Inputs.Select(v => $"<paramref name=\"{Identifier(v)}\"/> {v.DType.ToSource()}{v.Shape.ToExpression()}"));
            _w.Line($"/// <summary>");
            _w.Line($"/// Runs the model (dropout off) on {inputDocs} and returns <c>{output.Name}</c> {output.DType.ToSource()}{output.Shape.ToExpression()}.");
            _w.Line("/// The returned tensor belongs to the model and is overwritten by the next call.");
            _w.Line($"/// </summary>");
            _w.Open($"public global::ModelDsl.Runtime.Tensor Forward({Parameters(false)})");
            EnterGuard("Forward");
            _w.Line($"var w = Prepare({Arguments(false, "Forward")});");
            _w.Line("RunForward(w, training: false);");
            _w.Line("return w.Output;");
            _w.Close();

            if (Model.Outputs.Count > 1)
            {
                _w.Line();
                _w.Line("/// <summary>");
                _w.Line($"/// Runs the model (dropout off) like <c>Forward</c> and returns every output: {string.Join(", ", Model.Outputs.Select(o => $"<c>{o.Name}</c> {o.DType.ToSource()}{o.Shape.ToExpression()}"))}.");
                _w.Line("/// One forward pass computes them all; the tensors belong to the model and are overwritten by the next call.");
                _w.Line("/// </summary>");
                _w.Open($"public {OutputsType} ForwardAll({Parameters(false)})");
                EnterGuard("ForwardAll");
                _w.Line($"var w = Prepare({Arguments(false, "ForwardAll")});");
                _w.Line("RunForward(w, training: false);");
                _w.Line("return w.Outputs;");
                _w.Close();
                _w.Line();
                EmitOutputsType();
            }

            if (ClassifierOutput is { } classes)
            {
                _w.Line();
                _w.Line($"/// <summary>The most likely class of each row (argmax of <c>{Model.Outputs[PredictionOutput].Name}</c> over its {classes} classes); the tensor belongs to the model and is reused.</summary>");
                _w.Open($"public global::ModelDsl.Runtime.IntTensor Predict({Parameters(false)})");
                EnterGuard("Predict");
                _w.Line($"var w = Prepare({Arguments(false, "Predict")});");
                _w.Line("RunForward(w, training: false);");
                _w.Line($"global::ModelDsl.Runtime.Metrics.ArgMax({OutputTensor(PredictionOutput)}.Span, w.Predicted.Length, {classes}, w.Predicted.Data);");
                _w.Line("return w.Predicted;");
                _w.Close();
            }

            EmitPretrained();
            if (Model.Loss is null) return;
            string labels = string.Join(", ", Model.Labels.Select(v => $"<paramref name=\"{Identifier(v)}\"/> {v.DType.ToSource()}{v.Shape.ToExpression()}"));
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// One training step on a batch: forward (dropout on), {Model.Loss.Kind.ToSource()} loss against {labels}, backward, then the");
            _w.Line("/// optimizer. Returns the batch's mean loss (before the update). Allocates nothing once the largest shapes have been seen (or reserved).");
            _w.Line("/// Throws <see cref=\"global::ModelDsl.Runtime.NonFiniteException\"/> (and changes nothing) when an input, the loss, a gradient or the update is NaN or ±∞.");
            _w.Line("/// </summary>");
            _w.Open($"public float TrainStep({Parameters(true)})");
            EnterGuard("TrainStep");
            _w.Line($"var w = Prepare({Arguments(true, "TrainStep", "Step + 1")});");
            _w.Line($"float loss = Gradients(w, {CallerName("TrainStep")});");
            if (Model.Optimizer is not null) _w.Line($"Update({CallerName("TrainStep")});");
            _w.Line("return loss;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Forward (dropout on), loss and backward without updating: each parameter's <c>Gradient</c> then holds d loss / d parameter,");
            _w.Line("/// for callers with their own optimizer. Returns the batch's mean loss; the loss and gradients are checked as in <c>TrainStep</c>.");
            _w.Line("/// </summary>");
            _w.Open($"public float ComputeGradients({Parameters(true)})");
            EnterGuard("ComputeGradients");
            _w.Line($"return Gradients(Prepare({Arguments(true, "ComputeGradients", "Step + 1")}), {CallerName("ComputeGradients")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The batch's mean loss with dropout off and no gradients: for validation and test sets. A non-finite loss throws.</summary>");
            _w.Open($"public float Evaluate({Parameters(true)})");
            EnterGuard("Evaluate");
            _w.Line($"var w = Prepare({Arguments(true, "Evaluate")});");
            _w.Line("RunForward(w, training: false);");
            _w.Line("float loss = RunLoss(w, withGradient: false);");
            _w.Line($"_guard.Loss({CallerName("Evaluate")}, loss, Step);");
            _w.Line("return loss;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Forward, loss and backward, then the non-finite guard (docs/training.md, \"Non-finite values\"): the loss and every");
            _w.Line("/// gradient are checked before any optimizer runs, so a step that throws leaves parameters, optimizer state and Step");
            _w.Line("/// as they were. On a failure the step is run again with a check after every kernel, to name where the first");
            _w.Line("/// non-finite value appeared (the dropout masks depend only on Seed and Step, so the re-run computes the same values).");
            _w.Line("/// </summary>");
            _w.Open("private float Gradients(Workspace w, string caller)");
            if (HasGradientBuffers) _w.Line("w.BindGradients();");
            _w.Line("RunForward(w, training: true);");
            _w.Line("float loss = RunLoss(w, withGradient: true);");
            _w.Line("RunBackward(w);");
            _w.Line("if (_guard.CheckFinite && !_guard.StepIsFinite(loss))");
            _w.Open("");
            _w.Line("string found = TraceKernels(w);");
            _w.Line("_guard.Loss(caller, loss, Step + 1, found);");
            _w.Line("_guard.Gradients(caller, Step + 1, found);");
            _w.Close();
            _w.Line("return loss;");
            _w.Close();
            EmitTraceKernels();
            EmitSaveLoad();
        }

        /// <summary>
        /// <c>TraceKernels</c>: the debug re-run behind a non-finite loss or gradient. Every planned buffer and gradient is
        /// cleared, then forward, loss and backward run again with a scan of all of them after each kernel; the first kernel
        /// after which a NaN or ±∞ shows up is the one that produced it. Costly (kernels × buffers), so only on failure.
        /// </summary>
        private void EmitTraceKernels()
        {
            _w.Line();
            _w.Line("/// <summary>Runs the failed step again, checking every buffer after each kernel; returns where the first non-finite value appeared.</summary>");
            _w.Open("private string TraceKernels(Workspace w)");
            var floats = _plan.Buffers.Where(b => b.IsPlanned && b.DType != DType.I32).Select(b => $"({Quote(b.Name)}, w.{Name(b)})")
                .Concat(_plan.Parameters.Select(p => $"({Quote("gradient of " + p.Parameter!.Name)}, {_parameterProperties[p.Parameter!]}.Gradient)"));
            _w.Line($"var trace = new global::ModelDsl.Runtime.KernelTrace(Parameters, new (string, float[])[] {{ {string.Join(", ", floats)} }});");
            _w.Line("w.Trace = trace;");
            _w.Line("try");
            _w.Open("");
            _w.Line("RunForward(w, training: true);");
            _w.Line("RunLoss(w, withGradient: true);");
            _w.Line($"trace.After(\"loss\", {Quote($"{_fileName}:{Line(_plan.Loss!.Origins[0].Span)}")});");
            _w.Line("RunBackward(w);");
            _w.Close();
            _w.Line("finally");
            _w.Open("");
            _w.Line("w.Trace = null;");
            _w.Close();
            _w.Line("return trace.Result;");
            _w.Close();
        }

        private void EmitSaveLoad()
        {
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Writes parameters, optimizer state, " + (CallerSetsTotalSteps ? "step, learning rate and the schedule's TotalSteps" : "step and learning rate") + " to <paramref name=\"path\"/> as safetensors, with");
            _w.Line("/// PyTorch-style names (<c>fc1.weight</c>, dense weights [out, in]); atomically: a temporary file, then a rename.");
            _w.Line("/// See docs/checkpoints.md.");
            _w.Line("/// Refuses (<see cref=\"global::ModelDsl.Runtime.NonFiniteException\"/>) to write a NaN or ±∞ parameter unless <c>CheckFinite</c> is off.");
            _w.Line("/// </summary>");
            _w.Open("public void Save(string path)");
            EnterGuard("Save");
            _w.Line($"_guard.ParametersForWrite({CallerName("Save")}, \"save\", Step);");
            // A model without an optimizer has no LearningRate to record or restore.
            bool hasRate = Model.Optimizer is not null;
            string states = Model.States.Count > 0 ? ", States" : "";
            if (CallerSetsTotalSteps)
            {
                // The schedule's total (TotalSteps, when set) travels with the step, so a resumed run continues the same schedule.
                _w.Line($"global::ModelDsl.Runtime.Safetensors.Save(path, ModelName, Parameters, {(states.Length > 0 ? "States" : "global::System.Array.Empty<global::ModelDsl.Runtime.StateBuffer>()")}, Step, LearningRate, TotalSteps > 0 ? TotalSteps : null);");
            }
            else _w.Line($"global::ModelDsl.Runtime.Safetensors.Save(path, ModelName, Parameters{states}, Step{(hasRate ? ", LearningRate" : "")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Reads a safetensors file written by <see cref=\"Save\"/> or by PyTorch (parameters only: the optimizer state then");
            _w.Line("/// starts from zero); every name, dtype and shape is validated before anything is changed. The learning rate is");
            _w.Line("/// restored when the file records one (a file from PyTorch does not: the current rate is kept)" + (CallerSetsTotalSteps ? ", and so is TotalSteps." : "."));
            _w.Line("/// </summary>");
            _w.Open("public void Load(string path)");
            EnterGuard("Load");
            if (CallerSetsTotalSteps)
            {
                _w.Line($"Step = global::ModelDsl.Runtime.Safetensors.Load(path, ModelName, Parameters, {(states.Length > 0 ? "States" : "global::System.Array.Empty<global::ModelDsl.Runtime.StateBuffer>()")}, out float? learningRate, out int? totalSteps);");
                _w.Line("if (learningRate is float rate) LearningRate = rate;");
                _w.Line("if (totalSteps is int total) TotalSteps = total; // a file without it (saved before TotalSteps was set) keeps the current value");
            }
            else if (hasRate)
            {
                _w.Line($"Step = global::ModelDsl.Runtime.Safetensors.Load(path, ModelName, Parameters{states}, out float? learningRate);");
                _w.Line("if (learningRate is float rate) LearningRate = rate;");
            }
            else _w.Line($"Step = global::ModelDsl.Runtime.Safetensors.Load(path, ModelName, Parameters{states});");
            _w.Line("_guard.ParametersChanged();");
            _w.Close();
        }

    }
}
