using System.Collections.Generic;
using System.Linq;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// CUDA graphs in the GPU half: the launches of a training step up to its one host read (forward with dropout, loss
    /// with its gradient, backward, and the Σ g² of the non-finite check) are captured once per binding of the symbolic
    /// dimensions (<c>GpuContext.CaptureGraph</c>, the graph kept in that binding's <c>Workspace</c>) and replayed by
    /// one launch on later steps. What changes from step to step reaches the replay through device memory: the inputs
    /// and labels (copied into the workspace by <c>Prepare</c>) and the dropout seeds (<c>_dropoutSeeds</c>, written
    /// before each step). The optimizer runs after the host has read and checked the loss and Σ g², so it stays a plain
    /// launch with the learning rate and step as arguments; a plan whose step cannot be replayed (a value passed from the
    /// host that changes between steps) runs without a graph and says why (<c>GraphFallbackReason</c>).
    /// </summary>
    public sealed partial class GpuHostEmitter
    {
        /// <summary>Why this plan's training step cannot be captured and replayed, or null when it can.</summary>
        private string? StaticGraphFallback()
        {
            foreach (var kernel in _plan.Forward.Concat(_plan.Backward))
            {
                if (kernel.Calls is not { } calls) continue;
                foreach (var call in calls.Calls)
                {
                    foreach (var argument in call.Arguments)
                    {
                        if (StepVarying(argument) is { } what)
                        {
                            var origin = kernel.Origins[0];
                            return $"{_fileName}:{Line(origin.Span)} {origin.Description.Split(' ')[0]} {call.Class}.{call.Method} takes {what} from the host at each launch, which a replayed graph would repeat";
                        }
                    }
                }
            }
            return null;
        }

        /// <summary>What a layer-call argument passes from the host that may change between steps, or null for one fixed by the binding.</summary>
        private static string? StepVarying(LayerArgument argument) => argument switch
        {
            // A dropout seed is passed as where it lies in device memory (_dropoutSeeds), written before each step.
            SizeArgument or IntArgument or FloatArgument or FlagArgument or BufferArgument or TrainingArgument or DropoutProbabilityArgument or DropoutSeedArgument => null,
            GeometryArgument geometry => geometry.Fields.Select(StepVarying).FirstOrDefault(w => w is not null),
            CounterArgument counter => $"the counter '{counter.State.Name}' (counted on the host)",
            var other => $"a {other.GetType().Name}",
        };

        private bool HasDropout => _plan.DropoutSlots > 0;

        /// <summary>The session's graph members: the switch, the fallback reason, the capture count.</summary>
        private void EmitGraphMembers()
        {
            if (Model.Loss is null) return;
            string? fallback = StaticGraphFallback();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Whether TrainStep and ComputeGradients capture the step's launches as a CUDA graph (once per binding of the");
            _w.Line("/// symbolic dimensions) and replay it with one launch (default true; <c>MODELDSL_CUDA_GRAPHS=0</c> makes it false; docs/cuda.md).");
            _w.Line("/// </summary>");
            _w.Line("public bool UseGraphs { get; set; } = global::ModelDsl.Cuda.CudaGraphs.EnabledByDefault;");
            _w.Line();
            _w.Line("/// <summary>Why the step runs as plain launches although <see cref=\"UseGraphs\"/> is true (the step cannot be captured), or null.</summary>");
            _w.Line($"public string? GraphFallbackReason {{ get; private set; }}{(fallback is null ? "" : $" = {Quote(fallback)};")}");
            _w.Line();
            _w.Line("/// <summary>Graphs captured so far: one per binding of the symbolic dimensions, and again when <see cref=\"CheckFinite\"/> changes.</summary>");
            _w.Line("public int GraphCaptures { get; private set; }");
        }

        /// <summary>LaunchStep (what a graph holds), ReplayStep (capture once, then replay) and the dropout seeds' upload.</summary>
        private void EmitGraphMethods()
        {
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// The launches of a training step up to its host read: forward (dropout on), loss with its gradient, backward and,");
            _w.Line("/// with <paramref name=\"checkFinite\"/>, Σ g². What a graph of the step holds; nothing here copies or waits.");
            _w.Line("/// </summary>");
            _w.Open("private void LaunchStep(Workspace w, bool checkFinite)");
            _w.Line("RunForward(w, training: true);");
            _w.Line("LaunchLoss(w, withGradient: true);");
            _w.Line("RunBackward(w);");
            if (Cuda.GradientSumOfSquares is not null) _w.Line("if (checkFinite) LaunchGradientSumOfSquares();");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Replays the step's graph for this workspace, capturing it first (with this <paramref name=\"checkFinite\"/>) if it is");
            _w.Line("/// new; false when graphs are off or the step cannot be captured (<see cref=\"GraphFallbackReason\"/> says why), and the");
            _w.Line("/// caller launches the step itself. The graph reads the inputs, the parameters and the dropout seeds from device");
            _w.Line("/// memory, so a replay computes this step's values.");
            _w.Line("/// </summary>");
            _w.Open("private bool ReplayStep(Workspace w, bool checkFinite)");
            _w.Line("if (!UseGraphs || GraphFallbackReason is not null) return false;");
            _w.Line("if ((w.StepGraph is null || w.StepGraphChecksFinite != checkFinite) && !CaptureStep(w, checkFinite)) return false;");
            _w.Line("w.StepGraph!.Launch();");
            _w.Line("return true;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Captures the step's launches for this workspace (nothing runs); false, with <see cref=\"GraphFallbackReason\"/> set, when");
            _w.Line("/// the device refuses (a driver without the graph API, a call inside the step that cannot be captured). A method of its");
            _w.Line("/// own so that only a capture allocates the lambda, not every replay.");
            _w.Line("/// </summary>");
            _w.Open("private bool CaptureStep(Workspace w, bool checkFinite)");
            _w.Line("w.StepGraph?.Dispose();");
            _w.Line("w.StepGraph = null;");
            _w.Open("try");
            _w.Line("w.StepGraph = _context.CaptureGraph(() => LaunchStep(w, checkFinite));");
            _w.Close();
            _w.Open("catch (global::ModelDsl.Cuda.CudaException e)");
            _w.Line("GraphFallbackReason = \"the step could not be captured: \" + e.Message; // nothing ran: the caller launches it");
            _w.Line("return false;");
            _w.Close();
            _w.Line("w.StepGraphChecksFinite = checkFinite;");
            _w.Line("GraphCaptures++;");
            _w.Line("return true;");
            _w.Close();
            if (!HasDropout) return;
            _w.Line();
            _w.Line("/// <summary>This step's dropout seeds (one per dropout layer) into device memory, where the kernels and a replayed graph read them.</summary>");
            _w.Open("private void UploadDropoutSeeds()");
            _w.Line($"for (int slot = 0; slot < {_plan.DropoutSlots}; slot++) _seedValues[slot] = global::ModelDsl.Runtime.Cpu.Dropout.Seed(_model.Seed, _model.Step, slot, _model.DropoutStream);");
            _w.Line("_dropoutSeeds.CopyFrom<uint>(_seedValues);");
            _w.Close();
        }
    }
}
