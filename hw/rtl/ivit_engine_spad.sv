// On-chip activation buffer: BANKS banks (bank = token mod BANKS), each word LANES elements of
// EW bits (LANES consecutive channels of one token). A row group (BANKS tokens) at one word
// address is read in one cycle on each of two read ports (registered, one cycle latency);
// one bank word is written per cycle. Inferred as block RAM (one write, two reads).
module ivit_engine_spad #(
    parameter int BANKS = 8,
    parameter int LANES = 8,
    parameter int EW    = 32,
    parameter int DEPTH = 1024,
    parameter int AW    = $clog2(DEPTH)
) (
    input  logic                        clk,
    input  logic [BANKS-1:0]            we,
    input  logic [AW-1:0]               waddr,
    input  logic [LANES*EW-1:0]         wdata,
    input  logic [AW-1:0]               ra_addr,
    output logic [BANKS*LANES*EW-1:0]   ra_data,
    input  logic [AW-1:0]               rb_addr,
    output logic [BANKS*LANES*EW-1:0]   rb_data
);
    for (genvar b = 0; b < BANKS; b++) begin : g_bank
        logic [LANES*EW-1:0] mem [DEPTH];
        always_ff @(posedge clk) begin
            if (we[b]) mem[waddr] <= wdata;
            ra_data[b*LANES*EW +: LANES*EW] <= mem[ra_addr];
            rb_data[b*LANES*EW +: LANES*EW] <= mem[rb_addr];
        end
    end
endmodule
