using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelDsl.Generator.Helpers;
using ModelDsl.Generator.Model;

namespace ModelDsl.Generator
{
    /// <summary>
    /// Compiles every <c>.model</c> additional file into C#: one <c>public sealed partial class</c> per model,
    /// and the front end's diagnostics reported at their place in the <c>.model</c> file.
    /// This file only wires the pipeline; <c>ModelGenerator.SpecBuilder.cs</c> compiles a file (front and back end) into a
    /// <see cref="ModelFileSpec"/> and <c>ModelGenerator.Emitter.cs</c> writes the source.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed partial class ModelGenerator : IIncrementalGenerator
    {
        /// <summary>The namespace generated classes go in when the project sets no <c>RootNamespace</c>.</summary>
        public const string DefaultNamespace = "ModelDsl.Generated";

        /// <summary>Names of the pipeline steps, for incremental-generator tests (<c>trackIncrementalGeneratorSteps</c>).</summary>
        public static class TrackingNames
        {
            public const string ModelFiles = nameof(ModelFiles);
            public const string ModelFileSpecs = nameof(ModelFileSpecs);
            public const string Diagnostics = nameof(Diagnostics);
            public const string Models = nameof(Models);
            public const string RootNamespace = nameof(RootNamespace);
            public const string ModelsWithNamespace = nameof(ModelsWithNamespace);
            public const string ReferencesCuda = nameof(ReferencesCuda);
        }

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValueProvider<string> rootNamespace = context.AnalyzerConfigOptionsProvider
                .Select(static (options, _) => GetRootNamespace(options.GlobalOptions))
                .WithTrackingName(TrackingNames.RootNamespace);

            // One spec per .model file: read, parse, bind and shape-check, keep only equatable data.
            IncrementalValuesProvider<ModelFileSpec> files = context.AdditionalTextsProvider
                .Where(static text => text.Path.EndsWith(ModelFileExtension, StringComparison.OrdinalIgnoreCase))
                .WithTrackingName(TrackingNames.ModelFiles)
                .Select(static (text, cancellationToken) => SpecBuilder.Build(text, cancellationToken))
                .WithTrackingName(TrackingNames.ModelFileSpecs);

            // Diagnostics travel separately, so a diagnostic that only moved does not regenerate code.
            IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics = files
                .Select(static (file, _) => file.Diagnostics)
                .WithTrackingName(TrackingNames.Diagnostics);

            context.RegisterSourceOutput(diagnostics, static (context, diagnostics) =>
            {
                foreach (DiagnosticInfo diagnostic in diagnostics)
                {
                    context.ReportDiagnostic(diagnostic.CreateDiagnostic());
                }
            });

            // The GPU half ({Model}.Gpu.g.cs) is generated when the project references ModelDsl.Cuda (the ModelDsl package
            // does). A C# edit re-evaluates this bool, which stays equal, so the models downstream stay cached.
            IncrementalValueProvider<bool> referencesCuda = context.CompilationProvider
                .Select(static (compilation, _) => compilation.ReferencedAssemblyNames.Any(static name => name.Name == CudaAssemblyName))
                .WithTrackingName(TrackingNames.ReferencesCuda);

            IncrementalValuesProvider<(ModelSpec Model, (string Namespace, bool Cuda) Target)> models = files
                .SelectMany(static (file, _) => file.Models.AsImmutableArray())
                .WithTrackingName(TrackingNames.Models)
                .Combine(rootNamespace.Combine(referencesCuda))
                .WithTrackingName(TrackingNames.ModelsWithNamespace);

            context.RegisterSourceOutput(models, static (context, pair) => Emitter.Emit(context, pair.Model, pair.Target.Namespace, pair.Target.Cuda));
        }

        private const string ModelFileExtension = ".model";

        /// <summary>The assembly whose reference turns on the GPU half of every model class.</summary>
        public const string CudaAssemblyName = "ModelDsl.Cuda";

        private static string GetRootNamespace(AnalyzerConfigOptions options) =>
            options.TryGetValue("build_property.RootNamespace", out string? value) && !string.IsNullOrWhiteSpace(value)
                ? value.Trim()
                : DefaultNamespace;
    }
}
