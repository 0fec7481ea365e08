// AXI4 read master: one command (byte address, beat count) becomes INCR bursts of at most
// MAX_BURST beats that never cross a 4 KiB boundary; every burst's address is issued as soon
// as the previous one is accepted, and the data beats stream out in order (rready follows
// out_ready). Addresses are aligned to the bus width.
module ivit_engine_rdma #(
    parameter int DATA_W    = 512,
    parameter int ADDR_W    = 64,
    parameter int MAX_BURST = 64
) (
    input  logic              clk,
    input  logic              rst,
    input  logic              cmd_valid,
    output logic              cmd_ready,
    input  logic [ADDR_W-1:0] cmd_addr,
    input  logic [31:0]       cmd_beats,
    output logic              out_valid,
    input  logic              out_ready,
    output logic [DATA_W-1:0] out_data,
    output logic              busy,
    // AXI4 read channels
    output logic              arvalid,
    input  logic              arready,
    output logic [ADDR_W-1:0] araddr,
    output logic [7:0]        arlen,
    output logic [2:0]        arsize,
    output logic [1:0]        arburst,
    output logic [0:0]        arid,
    input  logic              rvalid,
    output logic              rready,
    input  logic [DATA_W-1:0] rdata,
    input  logic              rlast,
    input  logic [0:0]        rid,
    input  logic [1:0]        rresp
);
    localparam int BYTES = DATA_W / 8;
    localparam int LB = $clog2(BYTES);
    localparam int PAGE_BEATS = 4096 / BYTES;
    localparam int MAXB = MAX_BURST < PAGE_BEATS ? MAX_BURST : PAGE_BEATS;

    logic [ADDR_W-1:0] next_addr;
    logic [31:0] req_left, rcv_left, page_left, burst;

    assign arsize  = 3'(LB);
    assign arburst = 2'b01;
    assign arid    = 1'b0;
    assign out_valid = rvalid;
    assign out_data  = rdata;
    assign rready    = out_ready;
    assign busy      = (req_left != 0) || (rcv_left != 0) || arvalid;
    assign cmd_ready = !busy;

    // beats left before the 4 KiB page ends, capped at the burst limit and the request
    assign page_left = 32'(PAGE_BEATS) - 32'(next_addr[11:LB]);
    always_comb begin
        burst = req_left;
        if (burst > page_left) burst = page_left;
        if (burst > 32'(MAXB)) burst = 32'(MAXB);
    end

    always_ff @(posedge clk) begin
        if (rst) begin
            arvalid <= 1'b0; req_left <= '0; rcv_left <= '0; araddr <= '0; arlen <= '0;
            next_addr <= '0;
        end else begin
            if (cmd_valid && cmd_ready) begin
                next_addr <= cmd_addr;
                req_left  <= cmd_beats;
                rcv_left  <= cmd_beats;
            end else if (!arvalid || arready) begin
                if (req_left != 0) begin
                    arvalid   <= 1'b1;
                    araddr    <= next_addr;
                    arlen     <= 8'(burst - 1);
                    next_addr <= next_addr + (ADDR_W'(burst) << LB);
                    req_left  <= req_left - burst;
                end else begin
                    arvalid <= 1'b0;
                end
            end
            if (rvalid && rready) rcv_left <= rcv_left - 1;
        end
    end

    logic unused;
    assign unused = ^{rlast, rid, rresp};
endmodule
