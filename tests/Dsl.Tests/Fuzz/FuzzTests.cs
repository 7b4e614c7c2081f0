using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using ModelDsl.Diagnostics;

namespace ModelDsl.Dsl.Tests.Fuzz
{
    /// <summary>
    /// Thousands of hostile inputs through parse + check. The only acceptable outcome for each is a result
    /// with diagnostics: no exception, no hang (each input gets a deadline), and every diagnostic located
    /// inside the text with an ID from the catalogue. Inputs that produce errors must not produce models.
    /// </summary>
    public sealed class FuzzTests
    {
        /// <summary>Generous for a 2-core CI machine; a correct front end takes milliseconds per input.</summary>
        private static readonly TimeSpan PerInputDeadline = TimeSpan.FromSeconds(10);

        private static readonly HashSet<string> KnownIds = new HashSet<string>(DiagnosticCatalog.All.Select(d => d.Id));

        [Fact]
        public void Mutated_examples_only_produce_diagnostics() => RunAll(FuzzInputs.Mutations(seed: 20261122, count: 3000));

        [Fact]
        public void Random_token_streams_only_produce_diagnostics() => RunAll(FuzzInputs.RandomTokenStreams(seed: 42, count: 1500));

        [Fact]
        public void Random_bytes_only_produce_diagnostics() => RunAll(FuzzInputs.RandomBytes(seed: 7, count: 300));

        [Fact]
        public void Pathological_inputs_only_produce_diagnostics() => RunAll(FuzzInputs.Pathological());

        [Fact]
        public void Random_well_formed_models_only_produce_diagnostics() => RunAll(RandomModels.Generate(seed: 17, count: 1000));

        [Theory]
        [InlineData("deep parens", "MDL0003")]
        [InlineData("deep braces", "MDL0003")]
        [InlineData("huge integer", "MDL0002")]
        [InlineData("huge real", "MDL0002")]
        [InlineData("over 1 MiB", "MDL0005")]
        [InlineData("NUL bytes", "MDL0004")]
        [InlineData("repeat 10000", "MDL0110")]
        [InlineData("nested repeats", "MDL0112")]
        [InlineData("exponential blocks", "MDL0112")]
        [InlineData("recursive block", "MDL0109")]
        [InlineData("mutual recursion", "MDL0109")]
        [InlineData("division by zero", "MDL0116")]
        [InlineData("conv huge kernel", "MDL0304")]
        public void Each_limit_has_its_own_diagnostic(string name, string expectedId)
        {
            var (_, text) = FuzzInputs.Pathological().Single(p => p.Name == name);
            var result = CompileWithDeadline(name, text);
            Assert.Contains(result.Diagnostics, d => d.Id == expectedId);
        }

        private static void RunAll(IEnumerable<(string Name, string Text)> inputs)
        {
            int count = 0;
            var total = Stopwatch.StartNew();
            foreach (var (name, text) in inputs)
            {
                var result = CompileWithDeadline(name, text);
                foreach (var d in result.Diagnostics)
                {
                    Assert.True(KnownIds.Contains(d.Id), $"{name}: diagnostic {d.Id} is not in the catalogue");
                    Assert.True(d.Span.Start >= 0 && d.Span.End <= text.Length, $"{name}: {d.Id} span {d.Span} lies outside the text (length {text.Length})");
                    Assert.False(string.IsNullOrWhiteSpace(d.Message), $"{name}: {d.Id} has an empty message");
                }
                if (result.HasErrors)
                {
                    Assert.True(result.Models.Count == 0 || result.Syntax is not null, $"{name}: models were produced from text that failed its text checks");
                }
                count++;
            }
            Assert.True(count > 0);
        }

        private static CompilationResult CompileWithDeadline(string name, string text)
        {
            CompilationResult? result = null;
            Exception? error = null;
            // A dedicated thread with a large stack: the deadline catches hangs, the test catches exceptions.
            // (A stack overflow cannot be caught in .NET; the front end's nesting limits exist to prevent one.)
            var thread = new Thread(() =>
            {
                try { result = Compilation.Compile("fuzz.model", text); }
                catch (Exception ex) { error = ex; }
            }, maxStackSize: 1 << 20);
            thread.IsBackground = true;
            thread.Start();
            if (!thread.Join(PerInputDeadline))
                throw new Xunit.Sdk.XunitException($"{name}: parse+check did not finish within {PerInputDeadline.TotalSeconds} s (input length {text.Length}): {Preview(text)}");
            if (error is not null)
                throw new Xunit.Sdk.XunitException($"{name}: the front end threw {error.GetType().Name}: {error.Message}{Environment.NewLine}input: {Preview(text)}{Environment.NewLine}{error.StackTrace}");
            return result!;
        }

        private static string Preview(string text) => text.Length <= 300 ? text : text.Substring(0, 300) + $"... ({text.Length} chars)";
    }
}
