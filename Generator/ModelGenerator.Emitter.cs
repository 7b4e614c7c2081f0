using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Emit;
using ModelDsl.Generator.Helpers;
using ModelDsl.Generator.Model;

namespace ModelDsl.Generator
{
    public sealed partial class ModelGenerator
    {
        /// <summary>
        /// Writes <c>{ModelName}.g.cs</c> for one <see cref="ModelSpec"/>: a <c>public sealed partial class</c> with
        /// <c>ParameterCount</c> and a <c>Description</c> built from the checked model. Every block carries a comment
        /// naming its <c>.model</c> line, so the generated code reads back to the source (like the Regex generator's
        /// pattern explanations). Output is deterministic: invariant culture, the front end's fixed orders, <c>\n</c> newlines.
        /// </summary>
        internal static class Emitter
        {
            private const string Runtime = "global::ModelDsl.Runtime.";
            public static void Emit(SourceProductionContext context, ModelSpec model, string rootNamespace, bool cuda)
            {
                string source;
                try
                {
                    source = EmitSource(model, rootNamespace);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    context.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.InternalError, Location.None, DiagnosticDescriptors.InternalErrorMessage(exception)));
                    return;
                }

                // Two models of the same name (in two files) would collide on the hint name; the C# compiler then
                // reports the duplicate class, which names both, instead of the generator failing.
                try
                {
                    AddSources(context, model, model.Name, source, rootNamespace, cuda);
                }
                catch (ArgumentException)
                {
                    AddSources(context, model, model.Name + "." + SanitizeHintName(model.SourceFileName), source, rootNamespace, cuda);
                }
            }

            private static void AddSources(SourceProductionContext context, ModelSpec model, string hint, string source, string rootNamespace, bool cuda)
            {
                context.AddSource(hint + ".g.cs", source);
                if (TrainingSource(model, rootNamespace) is { } training) context.AddSource(hint + ".Training.g.cs", training);
                if (cuda && GpuSource(model, rootNamespace) is { } gpu) context.AddSource(hint + ".Gpu.g.cs", gpu);
            }

            /// <summary>The generated training file's text, or null when the model has none yet (also used by the snapshot tests).</summary>
            internal static string? TrainingSource(ModelSpec model, string rootNamespace) =>
                model.TrainingSource?.Replace(SpecBuilder.NamespacePlaceholder, Namespace(rootNamespace));

            /// <summary>The generated GPU file's text, or null when the model has no training code yet.</summary>
            internal static string? GpuSource(ModelSpec model, string rootNamespace) =>
                model.GpuSource?.Replace(SpecBuilder.NamespacePlaceholder, Namespace(rootNamespace));

            /// <summary>The generated file's text (also used by the snapshot tests).</summary>
            internal static string EmitSource(ModelSpec model, string rootNamespace)
            {
                var writer = new SourceWriter();
                string file = model.SourceFileName;
                string className = Identifier(model.Name);

                foreach (var line in GeneratedFile.HeaderLines(file, "the description and parameter count of " + model.Name)) writer.WriteLine(line);
                writer.WriteLine("#nullable enable");
                if (GeneratedFile.LowerCasePragma(model.Name) is { } pragma)
                {
                    writer.WriteLine(pragma);
                }

                writer.WriteLine();
                writer.WriteLine("namespace " + Namespace(rootNamespace));
                writer.OpenBlock();

                writer.WriteLine("/// <summary>");
                writer.WriteLine("/// The <c>" + Xml(model.Name) + "</c> model, compiled from <c>" + Xml(file) + "</c> (line " + Int(model.Line) + ").");
                writer.WriteLine("/// </summary>");
                writer.WriteLine("/// <remarks>");
                writer.WriteLine("/// Inputs: " + string.Join(", ", model.Inputs.Select(input => "<c>" + Xml(TensorText(input)) + "</c>")) +
                    ". Output: <c>" + Xml(TensorText(model.Output)) + "</c>. " + Count(model.ParameterCount) + " parameters.");
                writer.WriteLine("/// </remarks>");
                writer.WriteLine(GeneratedFile.GeneratedCode);
                writer.WriteLine("public sealed partial class " + className);
                writer.OpenBlock();

                writer.WriteLine("/// <summary>The number of trainable parameter elements: " + Count(model.ParameterCount) + ".</summary>");
                writer.WriteLine("public const long ParameterCount = " + Long(model.ParameterCount) + ";");
                writer.WriteLine();
                writer.WriteLine("/// <summary>The model as checked from <c>" + Xml(file) + "</c>: inputs, layers with their shapes, parameters, loss and optimizer.</summary>");
                writer.WriteLine("public static " + Runtime + "ModelDescription Description { get; } = new " + Runtime + "ModelDescription(");
                writer.Indentation++;
                writer.WriteLine("name: " + Literal(model.Name) + ",");
                writer.WriteLine("sourceFile: " + Literal(file) + ",");
                writer.WriteLine("line: " + Int(model.Line) + ",");

                WriteTensors(writer, "inputs", "input", model.Inputs, file);
                WriteTensors(writer, "labels", "label", model.Labels, file);
                writer.WriteLine("// " + Where(file, model.Output.Line) + "output " + TensorText(model.Output));
                writer.WriteLine("output: " + NewTensor(model.Output) + ",");
                writer.WriteLine("symbolicDimensions: " + StringArray(model.SymbolicDimensions) + ",");
                WriteLayers(writer, model, file);
                WriteParameters(writer, model, file);

                if (model.Loss is LossSpec loss)
                {
                    writer.WriteLine("// " + Where(file, loss.Line) + "loss " + loss.Kind + "(" + CommentText(loss.Prediction) + ", " + CommentText(loss.Target) + ")");
                    writer.WriteLine("loss: " + Literal(loss.Kind) + ",");
                }
                else
                {
                    writer.WriteLine("loss: null,");
                }

                bool severalOutputs = model.Outputs.Count > 1;
                WriteOptimizer(writer, model.Optimizer, file, severalOutputs ? ")" : ");");
                writer.Indentation--;
                if (severalOutputs)
                {
                    // Only a model with several output lines lists them: a one-output description is unchanged (Outputs is [Output]).
                    writer.OpenBlock();
                    WriteTensors(writer, "Outputs", "output", model.Outputs, file, " = ");
                    writer.CloseBlock(";");
                }

                writer.CloseBlock();
                writer.CloseBlock();
                return writer.ToString();
            }

            private static void WriteTensors(SourceWriter writer, string argument, string keyword, EquatableArray<TensorSpec> tensors, string file, string assign = ": ")
            {
                if (tensors.Count == 0)
                {
                    writer.WriteLine(argument + assign + "global::System.Array.Empty<" + Runtime + "TensorDescription>(),");
                    return;
                }

                writer.WriteLine(argument + assign + "new " + Runtime + "TensorDescription[]");
                writer.OpenBlock();
                foreach (TensorSpec tensor in tensors)
                {
                    writer.WriteLine("// " + Where(file, tensor.Line) + keyword + " " + TensorText(tensor));
                    writer.WriteLine(NewTensor(tensor) + ",");
                }

                writer.CloseBlock(",");
            }

            private static void WriteLayers(SourceWriter writer, ModelSpec model, string file)
            {
                if (model.Layers.Count == 0)
                {
                    writer.WriteLine("layers: global::System.Array.Empty<" + Runtime + "LayerDescription>(),");
                    return;
                }

                writer.WriteLine("layers: new " + Runtime + "LayerDescription[]");
                writer.OpenBlock();
                foreach (LayerSpec layer in model.Layers)
                {
                    writer.WriteLine("// " + Where(file, layer.Line) + CommentText(layer.Path) + " = " + layer.Op + "(" + CommentText(layer.Attributes) + ")  -> " + CommentText(layer.OutputShape));
                    writer.WriteLine("new " + Runtime + "LayerDescription(" +
                        Literal(layer.Path) + ", " + Literal(layer.Op) + ", " + Literal(layer.Attributes) + ", " +
                        Literal(layer.OutputShape) + ", " + Long(layer.ParameterCount) + ", " + Int(layer.Line) + "),");
                }

                writer.CloseBlock(",");
            }

            private static void WriteParameters(SourceWriter writer, ModelSpec model, string file)
            {
                if (model.Parameters.Count == 0)
                {
                    writer.WriteLine("parameters: global::System.Array.Empty<" + Runtime + "ParameterDescription>(),");
                    return;
                }

                writer.WriteLine("parameters: new " + Runtime + "ParameterDescription[]");
                writer.OpenBlock();
                foreach (ParameterSpec parameter in model.Parameters)
                {
                    string shape = "[" + string.Join(", ", parameter.Shape.Select(Long)) + "]";
                    writer.WriteLine("// " + Where(file, parameter.Line) + CommentText(parameter.Name) + " " + shape + "  " + parameter.Init + ", " + Count(parameter.Count));
                    writer.WriteLine("new " + Runtime + "ParameterDescription(" +
                        Literal(parameter.Name) + ", new long[] { " + string.Join(", ", parameter.Shape.Select(dim => Long(dim) + "L")) + " }, " +
                        Literal(parameter.Init) + ", " + Int(parameter.Line) + "),");
                }

                writer.CloseBlock(",");
            }

            /// <summary>The last arguments of the description's constructor; <paramref name="end"/> closes the call (<c>);</c>, or <c>)</c> before an initializer).</summary>
            private static void WriteOptimizer(SourceWriter writer, OptimizerSpec? optimizer, string file, string end)
            {
                const string Pair = "global::System.Collections.Generic.KeyValuePair<string, double>";
                if (optimizer is null)
                {
                    writer.WriteLine("optimizer: null,");
                    writer.WriteLine("optimizerHyperparameters: global::System.Array.Empty<" + Pair + ">()" + end);
                    return;
                }

                string arguments = string.Join(", ", optimizer.Hyperparameters.Select(h => CommentText(h.Name) + "=" + Real(h.Value)));
                writer.WriteLine("// " + Where(file, optimizer.Line) + "optimizer " + optimizer.Kind + "(" + arguments + ")");
                writer.WriteLine("optimizer: " + Literal(optimizer.Kind) + ",");
                if (optimizer.Hyperparameters.Count == 0)
                {
                    writer.WriteLine("optimizerHyperparameters: global::System.Array.Empty<" + Pair + ">()" + end);
                    return;
                }

                writer.WriteLine("optimizerHyperparameters: new " + Pair + "[]");
                writer.OpenBlock();
                foreach (HyperparameterSpec hyperparameter in optimizer.Hyperparameters)
                {
                    writer.WriteLine("new " + Pair + "(" + Literal(hyperparameter.Name) + ", " + Real(hyperparameter.Value) + "),");
                }

                writer.CloseBlock(end);
            }

            private static string NewTensor(TensorSpec tensor) =>
                "new " + Runtime + "TensorDescription(" + Literal(tensor.Name) + ", " + Literal(tensor.DType) + ", " +
                StringArray(tensor.Dims) + ", " + Int(tensor.Line) + ")";

            private static string StringArray(EquatableArray<string> items) =>
                items.Count == 0 ? "global::System.Array.Empty<string>()" : "new string[] { " + string.Join(", ", items.Select(Literal)) + " }";

            private static string TensorText(TensorSpec tensor) =>
                CommentText(tensor.Name + ": " + tensor.DType + "[" + string.Join(", ", tensor.Dims) + "]");

            /// <summary>The prefix of every source comment: <c>fashion_mlp.model:12  </c>.</summary>
            private static string Where(string file, int line) => CommentText(file) + ":" + Int(line) + "  ";

            private static string Literal(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

            private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

            private static string Long(long value) => value.ToString(CultureInfo.InvariantCulture);

            private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

            /// <summary>A C# double literal that round-trips: <c>0.001</c>, <c>1E-08</c>, <c>0.0</c>.</summary>
            private static string Real(double value)
            {
                if (double.IsNaN(value))
                {
                    return "double.NaN";
                }

                if (double.IsInfinity(value))
                {
                    return value > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity";
                }

                string text = value.ToString("R", CultureInfo.InvariantCulture);
                return text.IndexOfAny(new[] { '.', 'E', 'e' }) >= 0 ? text : text + ".0";
            }

            /// <summary>Text safe inside a <c>//</c> comment: no line breaks.</summary>
            private static string CommentText(string text) =>
                text.Replace("\r", " ").Replace("\n", " ").Replace("\u2028", " ").Replace("\u2029", " ").Replace("\u0085", " ");

            private static string Xml(string text) =>
                CommentText(text).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

            /// <summary>A model name as a C# identifier: <c>@class</c> for a keyword.</summary>
            private static string Identifier(string name) =>
                SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

            /// <summary>The root namespace with each part a valid identifier; the default when it cannot be one.</summary>
            internal static string Namespace(string rootNamespace)
            {
                string[] parts = rootNamespace.Split('.');
                if (parts.Any(part => !SyntaxFacts.IsValidIdentifier(part)))
                {
                    return DefaultNamespace;
                }

                return string.Join(".", parts.Select(Identifier));
            }

            private static string SanitizeHintName(string text) =>
                new string(text.Select(c => char.IsLetterOrDigit(c) || c == '_' || c == '.' ? c : '_').ToArray());
        }
    }
}
