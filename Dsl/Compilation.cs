using System.Collections.Generic;
using System.Linq;
using ModelDsl.Autodiff;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.Emit.CSharp;
using ModelDsl.Emit.Cuda;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl
{
    /// <summary>
    /// The one entry point from a <c>.model</c> file to code: text checks, parse (with recovery), bind and
    /// shape-check, the build limits (which plan each model), then, per model and on first use, the back end
    /// (<see cref="CompiledModel"/>: plan → CUDA C → C# CPU and GPU host text). The source generator, <c>modeldsl
    /// emit</c> and <c>modeldsl summary</c> all start here. Every front-end stage reports into one bag so a single
    /// pass shows all independent errors. Never throws on bad input.
    /// </summary>
    public static class Compilation
    {
        public static CompilationResult Compile(SourceText text)
        {
            var diagnostics = new DiagnosticBag();
            if (!TextChecks.Check(text, diagnostics))
            {
                return new CompilationResult(text, null, new CompiledModel[0], diagnostics.ToSortedList());
            }

            ModelFileSyntax syntax = ModelParser.Parse(text, diagnostics);
            // A model the back end could not build (sizes past 32-bit indexing, too many kernels) is reported here, at
            // its .model line, and left out, so `check` and the build agree. The plan the limits were checked on is
            // the one the back end emits from.
            var models = new List<CompiledModel>();
            foreach (ModelGraph model in Binder.Bind(syntax, text, diagnostics))
            {
                // The one rule the C# back end puts on a model's name: the class it becomes cannot have a member of its
                // own name. The emitter states which names its class takes; every other name is the emitters' to handle.
                if (CSharpNames.WhyModelNameIsTaken(model.Name) is { } taken)
                {
                    diagnostics.ReportModelNameTaken(model.NameSpan, model.Name, taken);
                    continue;
                }
                if (Analysis.BuildLimits.Check(model, diagnostics, out TrainingPlan? plan)) models.Add(new CompiledModel(model, plan, text));
            }
            return new CompilationResult(text, syntax, models, diagnostics.ToSortedList());
        }

        public static CompilationResult Compile(string path, string text) => Compile(new SourceText(path, text));
    }

    public sealed class CompilationResult
    {
        public CompilationResult(SourceText text, ModelFileSyntax? syntax, IReadOnlyList<CompiledModel> compiled, IReadOnlyList<Diagnostic> diagnostics)
        {
            Text = text;
            Syntax = syntax;
            Compiled = compiled;
            Models = compiled.Select(model => model.Graph).ToList();
            Diagnostics = diagnostics;
        }

        public SourceText Text { get; }
        public ModelFileSyntax? Syntax { get; }

        /// <summary>The models that checked without errors (a model with an error is left out, the others stay).</summary>
        public IReadOnlyList<ModelGraph> Models { get; }

        /// <summary>The same models, in the same order, with their back-end results (plan, C#, CUDA C).</summary>
        public IReadOnlyList<CompiledModel> Compiled { get; }

        public IReadOnlyList<Diagnostic> Diagnostics { get; }
        public bool HasErrors => Diagnostics.Any(d => d.IsError);
    }

    /// <summary>
    /// One checked model and what the back end makes of it. The plan is built while checking (the build limits need
    /// its buffers); the CUDA module is emitted once, on first use; the C# texts are rendered on each call, for the
    /// namespace asked for. Stages: <see cref="PlanBuilder"/> → <see cref="CudaEmitter"/> → <see cref="CpuModelEmitter"/> and <see cref="GpuHostEmitter"/>.
    /// </summary>
    public sealed class CompiledModel
    {
        private CudaModule? _cuda;
        private bool _cudaDone;

        internal CompiledModel(ModelGraph graph, TrainingPlan? plan, SourceText text)
        {
            Graph = graph;
            Plan = plan;
            Text = text;
        }

        /// <summary>The checked model: inputs, ops with their shapes, parameters, loss and optimizer.</summary>
        public ModelGraph Graph { get; }

        /// <summary>The file the model was compiled from (generated code names its lines).</summary>
        public SourceText Text { get; }

        /// <summary>
        /// The training plan (buffers, forward and backward kernels, loss, optimizer), or null when the back end has no
        /// kernels for the model yet: then no training code is generated.
        /// </summary>
        public TrainingPlan? Plan { get; }

        /// <summary>The CUDA C module (kernels and their launches), or null without a plan or when a kernel has no CUDA rendering.</summary>
        public CudaModule? Cuda
        {
            get
            {
                if (!_cudaDone)
                {
                    _cuda = Plan is null ? null : CudaEmitter.TryEmit(Plan, Text);
                    _cudaDone = true;
                }
                return _cuda;
            }
        }

        /// <summary>The CPU training half of the class (<c>{Model}.Training.g.cs</c>) in <paramref name="namespace"/>, or null without a plan.</summary>
        public string? CSharpSource(string @namespace) => Plan is null ? null : CpuModelEmitter.Emit(Plan, Text, @namespace);

        /// <summary>The GPU half of the class (<c>{Model}.Gpu.g.cs</c>, host code with the CUDA C inside), or null without <see cref="Cuda"/>.</summary>
        public string? GpuSource(string @namespace) => Cuda is { } cuda ? GpuHostEmitter.Emit(Plan!, Text, @namespace, cuda) : null;
    }
}
