using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary>Parses snippets and reads spans back as text, so tests state spans as the source they cover.</summary>
    internal static class SyntaxTestHelpers
    {
        /// <summary>True for MDL0001-MDL0099, the IDs the text checks and the parser own.</summary>
        public static bool IsSyntaxDiagnostic(Diagnostic d) => d.Id.StartsWith("MDL00", StringComparison.Ordinal);

        /// <summary>The syntax-stage diagnostics of a full compile, in source order; the binder's (MDL01xx and up) are left out.</summary>
        public static IReadOnlyList<Diagnostic> SyntaxDiagnostics(CompilationResult result) => result.Diagnostics.Where(IsSyntaxDiagnostic).ToList();

        /// <summary>
        /// <see cref="Support.AnnotatedText.AssertDiagnostics"/> restricted to the syntax range, so these tests state only
        /// what the parser reports and keep passing whatever the binder adds for the same (often incomplete) snippet.
        /// </summary>
        public static IReadOnlyList<Diagnostic> AssertSyntaxDiagnostics(string annotated, params string[] expectedIds)
        {
            var parsed = Support.AnnotatedText.Parse(annotated);
            var result = Compilation.Compile("test.model", parsed.Text);
            var actual = SyntaxDiagnostics(result);
            string Describe() => string.Join(Environment.NewLine, actual.Select(d => d.Format(result.Text) + " span " + d.Span + " '" + result.Text.ToString(d.Span) + "'"));

            Assert.True(parsed.Spans.Count == expectedIds.Length, "test is malformed: the number of marked spans must equal the number of expected IDs");
            Assert.True(actual.Count == expectedIds.Length, $"expected {expectedIds.Length} diagnostic(s) [{string.Join(", ", expectedIds)}], got {actual.Count}:{Environment.NewLine}{Describe()}");
            for (int i = 0; i < expectedIds.Length; i++)
            {
                Assert.True(expectedIds[i] == actual[i].Id, $"diagnostic {i}: expected {expectedIds[i]}, got:{Environment.NewLine}{Describe()}");
                Assert.True(parsed.Spans[i] == actual[i].Span,
                    $"diagnostic {i} ({actual[i].Id}): expected span '{result.Text.ToString(parsed.Spans[i])}' {parsed.Spans[i]}, got '{result.Text.ToString(actual[i].Span)}' {actual[i].Span}:{Environment.NewLine}{Describe()}");
            }
            return actual;
        }

        public static (ModelFileSyntax File, DiagnosticBag Diagnostics, SourceText Text) ParseFile(string source)
        {
            var text = new SourceText("test.model", source);
            var diagnostics = new DiagnosticBag();
            Assert.True(TextChecks.Check(text, diagnostics), "text checks failed: " + string.Join("; ", diagnostics));
            var file = ModelParser.Parse(text, diagnostics);
            return (file, diagnostics, text);
        }

        /// <summary>Parses <paramref name="body"/> as the statements of a model and asserts there were no diagnostics.</summary>
        public static (ModelSyntax Model, SourceText Text) ParseModel(string body)
        {
            var (file, diagnostics, text) = ParseFile("model M {\n" + body + "\n}\n");
            Assert.True(diagnostics.Count == 0, "unexpected diagnostics: " + string.Join(Environment.NewLine, diagnostics.Select(d => d.Format(text))));
            return (Assert.IsType<ModelSyntax>(Assert.Single(file.Declarations)), text);
        }

        public static (StatementSyntax Statement, SourceText Text) ParseStatement(string statement)
        {
            var (model, text) = ParseModel(statement);
            return (Assert.Single(model.Body), text);
        }

        /// <summary>Parses <c>v = expression</c> and returns the expression.</summary>
        public static (ExpressionSyntax Expression, SourceText Text) ParseExpression(string expression)
        {
            var (statement, text) = ParseStatement("v = " + expression);
            return (Assert.IsType<BindingSyntax>(statement).Value, text);
        }

        /// <summary>A compact, fully parenthesised rendering of an expression tree, to assert shape and precedence.</summary>
        public static string Show(ExpressionSyntax expression) => expression switch
        {
            NumberSyntax n => n.Text,
            BooleanSyntax b => b.Value ? "true" : "false",
            NameSyntax n => n.Name.Text,
            MemberAccessSyntax m => Show(m.Target) + "." + m.Member.Text,
            BinarySyntax b => "(" + Show(b.Left) + " " + Op(b.Operator) + " " + Show(b.Right) + ")",
            NegateSyntax n => "(-" + Show(n.Operand) + ")",
            TupleSyntax t => "tuple(" + string.Join(", ", t.Elements.Select(Show)) + ")",
            ListSyntax l => "[" + string.Join(", ", l.Elements.Select(Show)) + "]",
            CallSyntax c => c.Callee.Text + "(" + string.Join(", ", c.Arguments.Select(a => (a.Name == null ? "" : a.Name.Text + "=") + Show(a.Value))) + ")",
            ChainSyntax c => "chain(" + Show(c.Source) + string.Concat(c.Stages.Select(s => " -> " + Show(s))) + ")",
            RepeatSyntax r => "repeat(" + Show(r.Count) + ", " + Show(r.Stage) + ")",
            _ => throw new ArgumentException(expression.GetType().Name),
        };

        private static string Op(BinaryOperator op) => op switch
        {
            BinaryOperator.Add => "+",
            BinaryOperator.Subtract => "-",
            BinaryOperator.Multiply => "*",
            _ => "/",
        };
    }
}
