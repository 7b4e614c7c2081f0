using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelDsl.Generator.Helpers;
using ModelDsl.Generator.Model;

namespace ModelDsl.Generator
{
    /// <summary>
    /// Compiles every <c>.model</c> additional file into C#: one <c>public sealed partial class</c> per model,
    /// and the front end's diagnostics reported at their place in the <c>.model</c> file.
    /// This file only wires the pipeline; <c>ModelGenerator.Parser.cs</c> turns a file into a
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
                .Select(static (text, cancellationToken) => Parser.Parse(text, cancellationToken))
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

            IncrementalValuesProvider<(ModelSpec Model, string Namespace)> models = files
                .SelectMany(static (file, _) => file.Models.AsImmutableArray())
                .WithTrackingName(TrackingNames.Models)
                .Combine(rootNamespace)
                .WithTrackingName(TrackingNames.ModelsWithNamespace);

            context.RegisterSourceOutput(models, static (context, pair) => Emitter.Emit(context, pair.Model, pair.Namespace));
        }

        private const string ModelFileExtension = ".model";

        private static string GetRootNamespace(AnalyzerConfigOptions options) =>
            options.TryGetValue("build_property.RootNamespace", out string? value) && !string.IsNullOrWhiteSpace(value)
                ? value.Trim()
                : DefaultNamespace;
    }
}
