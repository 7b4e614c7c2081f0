using System.Collections.Generic;
using System.Linq;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The names the C# emitters write themselves: what a .model name (a buffer, symbol, input or parameter) must not
    /// become in a generated C# file. Runtime types are written with <c>global::</c> names, so no model or binding name
    /// can hide them; what remains are the members of the generated class and of its nested types, the locals and
    /// parameters of the generated methods, the temporaries the loop bodies number, and C#'s keywords.
    /// </summary>
    internal static class CSharpNames
    {
        /// <summary>Members of the model class (both halves), of its <c>Workspace</c>, <c>Gpu</c> and <c>Gpu.Workspace</c>, and of <c>object</c>.</summary>
        private static readonly string[] Members =
        {
            "Description", "ParameterCount", "Parameters", "Seed", "Step", "DropoutStream", "LearningRate", "CheckFinite", "LastGradientNorm",
            "ScheduledLearningRate", "TotalSteps", "ParameterGroups", "GroupLearningRate", "GroupRateRatios", "GroupWeightDecays",
            "ModelName", "SymbolNames", "Initialize", "Forward", "Predict", "TrainStep", "ComputeGradients", "Evaluate", "Gradients",
            "TraceKernels", "Save", "Load", "ApplyGradients", "Update", "Prepare", "WorkspaceFor", "RunForward", "RunLoss", "RunBackward",
            "ExportOnnx", "OnnxGraph", "CudaSource", "ToGpu", "Gpu", "Workspace", "Output", "Outputs", "ForwardAll", "DownloadOutputs", "Predicted", "Trace", "LossTerms", "LossValue",
            "Context", "CheckGradients", "GradientSumOfSquares", "DownloadOutput", "CopyToHost", "CopyFromHost", "DownloadAll", "Dispose", "Ones", "ArenaLength", "Offsets",
            "LoadPretrained", "PretrainedMap", "PretrainedFile",
            "States", "LayerStateLength", "LayerStateOffsets",
            "WorkspaceBytes", "ReserveWorkspace", "Bind", "BindGradients", "Bytes", "GradientsBound", // the CPU half's one workspace
            "GetType", "ToString", "Equals", "GetHashCode", "MemberwiseClone", "Finalize", "ReferenceEquals",
        };

        /// <summary>Locals and parameters of the generated methods (the loop bodies' own included).</summary>
        private static readonly string[] Locals =
        {
            "a", "c", "i", "k", "p", "r", "w", "rows", "cols", "training", "withGradient", "caller", "step", "bound", "call", "binding",
            "found", "planned", "trace", "loss", "model", "context", "parameters", "path", "learningRate", "rate", "lr", "stepSize",
            "bc2Sqrt", "bc1", "decay", "sumOfSquares", "clipScale", "mean", "ones", "count", "geometry", "value", "report", "grown",
        };

        /// <summary>The reserved names of a C# file for a model class named <paramref name="className"/>.</summary>
        public static IEnumerable<string> Reserved(string className) =>
            ModelDsl.Text.CSharpKeywords.All.Concat(Members).Concat(Locals).Append(className).Append(OutputsType(className));

        /// <summary>
        /// The nested class <c>ForwardAll</c> returns when a model has several outputs (<c>TinyOutputs</c>). It is reserved in
        /// every model, so an output, binding or parameter called that gets a suffix instead of a member named like its
        /// enclosing class (CS0542) or a second member of that name (CS0102).
        /// </summary>
        public static string OutputsType(string className) => className + "Outputs";

        /// <summary>Temporaries the loop bodies number: <c>v3</c>, <c>s3</c>, and each dropout slot's <c>seed0</c>, <c>p0</c>, <c>scale0</c>, <c>vp0</c>, <c>vscale0</c>.</summary>
        public static readonly IReadOnlyList<string> Numbered = new[] { "v", "s", "seed", "p", "scale", "vp", "vscale" };

        /// <summary>The private fields all start with an underscore (<c>_guard</c>, <c>_values</c>, a kernel's <c>_fwd_1_relu</c>): a .model name never does here.</summary>
        public static readonly IReadOnlyList<string> Prefixes = new[] { "_" };

        /// <summary>
        /// Members the model class itself declares under fixed names (its API, and the private members and nested type its
        /// code calls by name). A member may not share its enclosing class's name (CS0542), so a model cannot be named like
        /// one (MDL0214). Members of the nested types (<c>Workspace</c>, <c>Gpu</c>) are not the class's own and are free.
        /// tests/Generator.Tests/Training/ModelNameRuleTests reflects over generated classes to keep this list complete.
        /// </summary>
        private static readonly HashSet<string> ClassMembers = new HashSet<string>(System.StringComparer.Ordinal)
        {
            "Description", "ParameterCount", "Parameters", "Gradients", "Seed", "Step", "LearningRate", "ModelName", "SymbolNames",
            "Forward", "Predict", "Evaluate", "TrainStep", "ComputeGradients", "ApplyGradients", "Initialize", "Prepare",
            "RunForward", "RunBackward", "RunLoss", "Save", "Load", "ExportOnnx", "ToGpu", "Gpu", "CudaSource", "WorkspaceFor",
            "Dispose", "Output", "Predicted", "CheckFinite", "LastGradientNorm", "DropoutStream", "OnnxGraph", "TraceKernels", "Update",
            "ScheduledLearningRate", "TotalSteps", "ForwardAll",
            "ParameterGroups", "GroupLearningRate", "GroupRateRatios", "GroupWeightDecays", "_groupRates", // with parameter groups
            "LoadPretrained", "PretrainedMap", "PretrainedFile", // with a pretrained declaration
            "States", // the layer state list of a model with batch_norm
            "Workspace", // the nested class of the CPU half and of Gpu
            "WorkspaceBytes", "ReserveWorkspace", // the CPU half's one workspace (ReserveWorkspace with symbolic dimensions)
            "_guard", "_learningRate", "_workspace", "_workspaces", // private fields
        };

        /// <summary>Contextual keywords generated code writes as types (<c>var w = ...</c>, <c>nuint i</c>): a class of that name would take their place.</summary>
        private static readonly HashSet<string> TypeKeywords = new HashSet<string>(System.StringComparer.Ordinal) { "var", "nint", "nuint", "dynamic" };

        /// <summary>Why a model cannot be named <paramref name="modelName"/> in C# (the reason MDL0214 gives), or null when it can.</summary>
        public static string? WhyModelNameIsTaken(string modelName)
        {
            if (ClassMembers.Contains(modelName)) return $"every generated class has a member '{modelName}' (a member cannot share its class's name)";
            if (TypeKeywords.Contains(modelName)) return $"generated code writes '{modelName}' as a type keyword, which a class of that name would replace";
            return null;
        }

        /// <summary>The class name for a model: a C# keyword (<c>class</c>, <c>record</c>) as a verbatim identifier.</summary>
        public static string ClassName(string modelName) => ModelDsl.Text.CSharpKeywords.Contains(modelName) ? "@" + modelName : modelName;
    }
}
