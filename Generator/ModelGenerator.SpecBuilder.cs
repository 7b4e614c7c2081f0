using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using ModelDsl.Generator.Helpers;
using ModelDsl.Generator.Model;
using ModelDsl.IR;
using ModelDsl.Shapes;
using CompiledModel = ModelDsl.CompiledModel;
using DslCatalog = ModelDsl.Diagnostics.DiagnosticCatalog;
using DslCompilation = ModelDsl.Compilation;
using DslCompilationResult = ModelDsl.CompilationResult;
using DslDiagnostic = ModelDsl.Diagnostics.Diagnostic;
using DslSourceText = ModelDsl.Text.SourceText;
using DslTextSpan = ModelDsl.Text.TextSpan;

namespace ModelDsl.Generator
{
    public sealed partial class ModelGenerator
    {
        /// <summary>
        /// The cached step of the pipeline: one <c>.model</c> file in, one <see cref="ModelFileSpec"/> out. Runs
        /// <see cref="DslCompilation.Compile(DslSourceText)"/> (front end and back end) and copies what the emitter needs
        /// out of each <see cref="CompiledModel"/> into plain equatable records: the description, the diagnostics and the
        /// generated training and GPU text (so an unrelated C# edit re-emits nothing). Never throws: an unreadable file is
        /// MDL0004; an unexpected exception is one MDL9999, located at the model whose back end failed (that model is
        /// left out, the others stay), or at the start of the file when the front end failed.
        /// </summary>
        internal static class SpecBuilder
        {
            /// <summary>Stands for the consumer's root namespace, which is combined in after this (cached) step.</summary>
            internal const string NamespacePlaceholder = "__ModelDslRootNamespace__";

            public static ModelFileSpec Build(AdditionalText file, CancellationToken cancellationToken)
            {
                string path = file.Path ?? "";
                string fileName = GetFileName(path);
                try
                {
                    SourceText? text = file.GetText(cancellationToken);
                    if (text is null)
                    {
                        return FileDiagnostic(fileName, path, DiagnosticDescriptors.For(DslCatalog.InvalidText), "The file could not be read.");
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    var source = new DslSourceText(path, text.ToString());
                    DslCompilationResult result = DslCompilation.Compile(source);
                    cancellationToken.ThrowIfCancellationRequested();

                    var models = new List<ModelSpec>();
                    var diagnostics = result.Diagnostics.Select(diagnostic => ToInfo(diagnostic, source)).ToList();
                    foreach (CompiledModel model in result.Compiled)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        try
                        {
                            models.Add(ToSpec(model, fileName));
                        }
                        catch (Exception exception) when (exception is not OperationCanceledException)
                        {
                            diagnostics.Add(ToInfo(DiagnosticDescriptors.InternalError, DiagnosticDescriptors.InternalErrorMessage(exception), source, model.Graph.NameSpan));
                        }
                    }

                    return new ModelFileSpec
                    {
                        FileName = fileName,
                        Models = models.ToEquatableArray(),
                        Diagnostics = diagnostics.ToEquatableArray(),
                    };
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception exception)
                {
                    return FileDiagnostic(fileName, path, DiagnosticDescriptors.InternalError, DiagnosticDescriptors.InternalErrorMessage(exception));
                }
            }

            private static ModelFileSpec FileDiagnostic(string fileName, string path, DiagnosticDescriptor descriptor, string message) => new ModelFileSpec
            {
                FileName = fileName,
                Models = EquatableArray<ModelSpec>.Empty,
                Diagnostics = new[]
                {
                    new DiagnosticInfo
                    {
                        Descriptor = descriptor,
                        Message = message,
                        FilePath = path,
                        Span = new TextSpan(0, 0),
                        LineSpan = new LinePositionSpan(new LinePosition(0, 0), new LinePosition(0, 0)),
                    },
                }.ToEquatableArray(),
            };

            private static DiagnosticInfo ToInfo(DslDiagnostic diagnostic, DslSourceText source) =>
                ToInfo(DiagnosticDescriptors.For(diagnostic.Descriptor), diagnostic.Message, source, diagnostic.Span);

            private static DiagnosticInfo ToInfo(DiagnosticDescriptor descriptor, string message, DslSourceText source, DslTextSpan span)
            {
                int start = Math.Max(0, Math.Min(span.Start, source.Length));
                int end = Math.Max(start, Math.Min(span.End, source.Length));
                return new DiagnosticInfo
                {
                    Descriptor = descriptor,
                    Message = message,
                    FilePath = source.Path,
                    Span = TextSpan.FromBounds(start, end),
                    LineSpan = new LinePositionSpan(ToLinePosition(source, start), ToLinePosition(source, end)),
                };
            }

            private static LinePosition ToLinePosition(DslSourceText source, int position)
            {
                ModelDsl.Text.LinePosition linePosition = source.GetLinePosition(position);
                return new LinePosition(linePosition.Line, linePosition.Character);
            }

            private static ModelSpec ToSpec(CompiledModel compiled, string fileName)
            {
                ModelGraph model = compiled.Graph;
                DslSourceText source = compiled.Text;
                int LineOf(DslTextSpan span) => source.GetLinePosition(span.Start).Line + 1;

                TensorSpec Tensor(TensorValue value) => new TensorSpec
                {
                    Name = value.Name,
                    DType = value.DType.ToSource(),
                    Dims = value.Shape.Dims.Select(dim => dim.ToExpression()).ToEquatableArray(),
                    Line = LineOf(value.Span),
                };

                Dictionary<OpNode, long> ownedCounts = CountOwnedParameters(model);

                return new ModelSpec
                {
                    Name = model.Name,
                    SourceFileName = fileName,
                    Line = LineOf(model.NameSpan),
                    Inputs = model.Inputs.Select(Tensor).ToEquatableArray(),
                    Labels = model.Labels.Select(Tensor).ToEquatableArray(),
                    Output = Tensor(model.Output),
                    Outputs = model.Outputs.Select(Tensor).ToEquatableArray(),
                    SymbolicDimensions = model.SymbolicDimensions.ToEquatableArray(),
                    Layers = model.Nodes.Select(node => new LayerSpec
                    {
                        Path = node.LayerPath,
                        Op = node.Kind.ToSource(),
                        Attributes = string.Join(", ", node.Attributes.Describe().Select(pair => pair.Key + "=" + pair.Value.ToString())),
                        OutputShape = node.Output.Shape.ToExpression(),
                        ParameterCount = ownedCounts[node],
                        Line = LineOf(node.Span),
                    }).ToEquatableArray(),
                    Parameters = model.Parameters.Select(parameter => new ParameterSpec
                    {
                        Name = parameter.Name,
                        Shape = parameter.Shape.Dims.Select(dim => dim.Value).ToEquatableArray(),
                        Init = parameter.Declared?.Source ?? parameter.Init.ToString(),
                        Count = parameter.Count,
                        Line = LineOf(parameter.Span),
                    }).ToEquatableArray(),
                    Loss = model.Loss is LossInfo loss
                        ? new LossSpec { Kind = loss.Kind.ToSource(), Prediction = loss.Prediction.Name, Target = loss.Target.Name, Line = LineOf(loss.Span) }
                        : null,
                    Optimizer = model.Optimizer is OptimizerInfo optimizer
                        ? new OptimizerSpec
                        {
                            Kind = optimizer.Kind.ToSource(),
                            Hyperparameters = optimizer.Hyperparameters
                                .Select(pair => new HyperparameterSpec { Name = pair.Key, Value = pair.Value })
                                .ToEquatableArray(),
                            Line = LineOf(optimizer.Span),
                        }
                        : null,
                    ParameterCount = model.Parameters.Sum(parameter => parameter.Count),
                    TrainingSource = compiled.CSharpSource(NamespacePlaceholder),
                    GpuSource = compiled.GpuSource(NamespacePlaceholder),
                };
            }

            /// <summary>
            /// Elements of the parameters each layer owns. A parameter belongs to the layer whose path it carries;
            /// failing that (a parameter nested under its layer's path), to the first layer that reads it. A tied
            /// parameter is listed once in the graph, so it counts once, at its owner.
            /// </summary>
            private static Dictionary<OpNode, long> CountOwnedParameters(ModelGraph model)
            {
                var counts = model.Nodes.ToDictionary(node => node, _ => 0L);
                foreach (ParameterInfo parameter in model.Parameters)
                {
                    OpNode? owner = null;
                    foreach (OpNode node in model.Nodes)
                    {
                        if (!node.Parameters.Any(read => string.Equals(read.Name, parameter.Name, StringComparison.Ordinal)))
                        {
                            continue;
                        }

                        if (string.Equals(node.LayerPath, parameter.LayerPath, StringComparison.Ordinal))
                        {
                            owner = node;
                            break;
                        }

                        owner ??= node;
                    }

                    if (owner is not null)
                    {
                        counts[owner] += parameter.Count;
                    }
                }

                return counts;
            }

            private static string GetFileName(string path)
            {
                int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
                return slash < 0 ? path : path.Substring(slash + 1);
            }
        }
    }
}
