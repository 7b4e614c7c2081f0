using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ModelDsl.Diagnostics;
using ModelDsl.Text;

namespace ModelDsl.Dsl.Tests.Support
{
    /// <summary>
    /// Test source with the expected diagnostic spans marked by ⟦ and ⟧ (minsk's AnnotatedText; square brackets
    /// are part of the language, so the markers are the mathematical white brackets). The markers are removed
    /// and their positions become <see cref="Spans"/>.
    /// </summary>
    public sealed class AnnotatedText
    {
        private AnnotatedText(string text, IReadOnlyList<TextSpan> spans)
        {
            Text = text;
            Spans = spans;
        }

        public string Text { get; }
        public IReadOnlyList<TextSpan> Spans { get; }

        public static AnnotatedText Parse(string annotated)
        {
            var text = new StringBuilder();
            var spans = new List<TextSpan>();
            var starts = new Stack<int>();
            foreach (char c in annotated)
            {
                if (c == '⟦') starts.Push(text.Length);
                else if (c == '⟧')
                {
                    if (starts.Count == 0) throw new ArgumentException("Unbalanced ⟧ in annotated text.");
                    int start = starts.Pop();
                    spans.Add(TextSpan.FromBounds(start, text.Length));
                }
                else text.Append(c);
            }
            if (starts.Count != 0) throw new ArgumentException("Unbalanced ⟦ in annotated text.");
            return new AnnotatedText(text.ToString(), spans.OrderBy(s => s.Start).ToList());
        }

        /// <summary>
        /// Compiles the text and asserts that exactly the marked spans carry diagnostics with the given IDs, in
        /// source order. Returns the diagnostics so the caller can also check message text.
        /// </summary>
        public static IReadOnlyList<Diagnostic> AssertDiagnostics(string annotated, params string[] expectedIds)
        {
            var parsed = Parse(annotated);
            var result = Compilation.Compile("test.model", parsed.Text);
            var actual = result.Diagnostics;
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
    }
}
