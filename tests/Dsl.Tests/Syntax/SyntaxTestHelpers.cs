using System;
using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary>Parses snippets and reads spans back as text, so tests state spans as the source they cover.</summary>
    internal static class SyntaxTestHelpers
    {
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
